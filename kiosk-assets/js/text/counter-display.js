// Vietnamese and English text of the display above a counter (counter-display.html): one table per language,
// keys as used with i18n.t() (js/i18n.js) and [data-i18n] in the page.

export const COUNTER_DISPLAY_TEXT = {
  vi: {
    counter: "Quầy {n}",
    idle: "Sẵn sàng",
    called: "Mời công dân có số",
    serving: "Đang phục vụ số",
    paused: "Tạm dừng",
    closed: "Quầy đóng",
    closedSub: "Vui lòng đến quầy khác",
    stale: "Mất kết nối — đang kết nối lại",
    refused: "Thiết bị chưa được ghép nối",
    noCounter: "Thiếu mã quầy: mở /counter-display?counter=quay-1",
    recall: "Gọi lại lần {n}",
  },
  en: {
    counter: "Counter {n}",
    idle: "Ready",
    called: "Now calling",
    serving: "Now serving",
    paused: "Paused",
    closed: "Closed",
    closedSub: "Please go to another counter",
    stale: "Connection lost — reconnecting",
    refused: "This device is not paired",
    noCounter: "No counter given: open /counter-display?counter=quay-1",
    recall: "Recall {n}",
  },
};
