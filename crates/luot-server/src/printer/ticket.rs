//! The printed ticket: what it says (`TicketPrint`, read from the broker) and how it is laid out
//! on the paper (`render`).

use ab_glyph::{Font, PxScale, ScaleFont};

use super::raster::{Align, Bitmap, Pen, fonts};

/// Longest ticket drawn, in dots (30 cm at 203 dpi); a longer one is cut off.
pub const TICKET_HEIGHT_MAX_DOTS: u32 = 2400;

/// Everything printed on a ticket, already in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketPrint {
    pub center: String,
    pub number: String,
    pub service_vi: String,
    pub service_en: String,
    pub counters: Vec<u16>,
    pub ahead: u32,
    /// "10–20 phút" / "10–20 min"; `None` while no counter serving it is open.
    pub wait_vi: Option<String>,
    pub wait_en: Option<String>,
    /// When the wait may run past the end of the service's session: "Có thể đến buổi chiều
    /// (13:30) mới tới lượt" and its English (`luot_proto::session_note`).
    pub session_vi: Option<String>,
    pub session_en: Option<String>,
    /// "08:15 · 28/11/2026", in the site's time zone.
    pub issued: String,
    /// The priority category's name, when the citizen chose one.
    pub priority: Option<String>,
    /// The phone page, for the QR code.
    pub url: String,
}

/// Printed instead of a range when a counter is open but the range would be too wide to plan by
/// (`NOT_ENOUGH_DATA` in live.js).
pub const NOT_ENOUGH_DATA: (&str, &str) = (
    "chưa đủ dữ liệu để ước tính",
    "not enough data to estimate yet",
);

/// "25–40 phút" from an estimate in seconds, as the kiosk writes it (`waitRange` in live.js).
pub fn wait_text(low_s: Option<u32>, high_s: Option<u32>, en: bool) -> Option<String> {
    let (low, high) = (low_s?, high_s?);
    if low == 0 && high >= 120 {
        let m = (high as f64 / 60.0).round();
        return Some(if en {
            format!("under {m} min")
        } else {
            format!("dưới {m} phút")
        });
    }
    let lo = (low as f64 / 60.0).round() as u32;
    let hi = ((high as f64 / 60.0).round() as u32).max(lo);
    let unit = if en { "min" } else { "phút" };
    Some(if hi <= 1 {
        if en { "under 1 min" } else { "dưới 1 phút" }.to_string()
    } else if lo == hi {
        format!("{lo} {unit}")
    } else {
        format!("{lo}–{hi} {unit}")
    })
}

/// The wait as printed: [`NOT_ENOUGH_DATA`] when the estimate is `uncertain`, else [`wait_text`].
/// The kiosk and the phone page word it the same (`waitText` in js/rules.js); both are checked
/// against tests/fixtures/wait-text.json.
pub fn wait_words(
    low_s: Option<u32>,
    high_s: Option<u32>,
    uncertain: bool,
    en: bool,
) -> Option<String> {
    if uncertain {
        let (vi, en_text) = NOT_ENOUGH_DATA;
        return Some(if en { en_text } else { vi }.to_string());
    }
    wait_text(low_s, high_s, en)
}

/// The ticket `number` of `site` as printed now (people ahead and wait as of now, the time it
/// was issued), with its state; `None` when there is no such ticket today.
pub async fn ticket_print(
    app: &crate::App,
    site: usize,
    number: luot_core::TicketNumber,
) -> Result<Option<(TicketPrint, luot_core::Ticket)>, crate::error::ApiError> {
    let runtime = app.broker.runtime();
    let Some(tz) = runtime.get(site).map(|r| r.tz.clone()) else {
        return Ok(None);
    };
    let public_url = app.public_url.clone();
    app.broker
        .read(move |v| {
            let s = &v.sites[site];
            let t = s.resolve(luot_core::TicketRef::Number(number))?;
            let est = if t.state == luot_core::TicketState::Waiting {
                s.estimate_ticket(t.id)
            } else {
                None
            };
            let cfg = s.config();
            let svc = cfg.service(*t.service)?;
            let local = jiff::Timestamp::from_millisecond(t.issued_at_ms)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                .to_zoned(tz);
            let range = est.and_then(|e| e.range_s);
            let now = v.now(site);
            let session = est
                .and_then(|_| s.wait_runs_past_session(*t.service, &now, range.map(|r| r.1)))
                .map(|sess| luot_proto::session_note(&sess, now.day));
            Some((
                TicketPrint {
                    center: cfg.name.vi.clone(),
                    number: t.number.to_string(),
                    service_vi: svc.name.vi.clone(),
                    service_en: svc.name.en.clone(),
                    counters: cfg
                        .counters
                        .iter()
                        .filter(|k| k.services.iter().any(|x| x.service == t.service))
                        .map(|k| k.number)
                        .collect(),
                    ahead: est.map_or(0, |e| e.ahead),
                    wait_vi: wait_words(
                        range.map(|r| r.0),
                        range.map(|r| r.1),
                        est.is_some_and(|e| e.uncertain),
                        false,
                    ),
                    wait_en: wait_words(
                        range.map(|r| r.0),
                        range.map(|r| r.1),
                        est.is_some_and(|e| e.uncertain),
                        true,
                    ),
                    session_vi: session.as_ref().map(|n| n.0.clone()),
                    session_en: session.map(|n| n.1),
                    issued: local.strftime("%H:%M · %d/%m/%Y").to_string(),
                    priority: t
                        .priority
                        .and_then(|p| cfg.priority_categories.iter().find(|c| c.code == p))
                        .map(|c| c.name.vi.clone()),
                    url: format!("{public_url}/t/{}", t.token.to_hex()),
                },
                t.clone(),
            ))
        })
        .await
}

/// Draws the ticket `width` dots wide, as long as it needs to be.
pub fn render(t: &TicketPrint, width: u32) -> Bitmap {
    let f = fonts();
    let w = width as f32;
    // Type sizes relative to 80 mm paper (576 dots), so 58 mm paper gets the same layout.
    let k = w / 576.0;
    let mut pen = Pen {
        bmp: Bitmap::new(width, TICKET_HEIGHT_MAX_DOTS),
        y: (8.0 * k) as i32,
        margin: (12.0 * k) as i32,
    };
    pen.para(&f.bold, 27.0 * k, &t.center, Align::Center);
    pen.rule();
    pen.line(&f.bold, 26.0 * k, "SỐ THỨ TỰ", Align::Center, false);
    // The number as large as fits: about a third of the paper's width tall.
    let mut px = 190.0 * k;
    while Pen::width(&f.bold, px, &t.number) > pen.inner() as f32 && px > 40.0 {
        px -= 4.0;
    }
    pen.y -= (18.0 * k) as i32;
    pen.line(&f.bold, px, &t.number, Align::Center, false);
    pen.y -= (12.0 * k) as i32;
    if let Some(p) = &t.priority {
        // White on black: the official sees it from across the counter.
        let top = pen.y;
        let lines = Pen::wrap(
            &f.bold,
            28.0 * k,
            &format!("ƯU TIÊN: {p}"),
            pen.inner() as f32 - 16.0,
        );
        let line_h = {
            let sf = f.bold.0[0].as_scaled(PxScale::from(28.0 * k));
            (sf.ascent() - sf.descent()).ceil() as i32
        };
        let (m, wi) = (pen.margin, width as i32);
        pen.bmp.fill(
            m,
            top,
            wi - m,
            top + 8 + line_h * lines.len() as i32 + 8,
            true,
        );
        pen.y += 8;
        for l in &lines {
            pen.line(&f.bold, 28.0 * k, l, Align::Center, true);
        }
        pen.y += 12;
        pen.para(
            &f.regular,
            24.0 * k,
            "Giấy tờ chứng minh đối tượng ưu tiên sẽ được kiểm tra tại quầy.",
            Align::Center,
        );
    }
    pen.y += (6.0 * k) as i32;
    pen.para(&f.bold, 32.0 * k, &t.service_vi, Align::Center);
    pen.rule();
    let counters = t
        .counters
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let row = 28.0 * k;
    pen.row(row, "Quầy phục vụ:", &counters);
    pen.row(row, "Người chờ trước:", &t.ahead.to_string());
    pen.row(
        row,
        "Dự kiến chờ:",
        t.wait_vi
            .as_deref()
            .unwrap_or("chưa ước tính (chưa có quầy mở)"),
    );
    if let Some(note) = &t.session_vi {
        pen.para(&f.bold, 26.0 * k, note, Align::Center);
    }
    pen.row(row, "Giờ lấy số:", &t.issued);
    pen.y += (10.0 * k) as i32;
    // The QR code: modules of whole dots, about 240 dots across with its quiet zone.
    if let Ok(code) =
        qrcode::QrCode::with_error_correction_level(t.url.as_bytes(), qrcode::EcLevel::M)
    {
        let n = code.width() as i32;
        let module = ((260.0 * k) as i32 / (n + 8)).clamp(3, 10);
        let side = module * (n + 8);
        let x0 = (width as i32 - side) / 2 + 4 * module;
        let y0 = pen.y + 4 * module;
        for (i, c) in code.to_colors().iter().enumerate() {
            if *c == qrcode::Color::Dark {
                let (x, y) = (x0 + (i as i32 % n) * module, y0 + (i as i32 / n) * module);
                pen.bmp.fill(x, y, x + module, y + module, true);
            }
        }
        pen.y += side;
    }
    pen.para(
        &f.regular,
        26.0 * k,
        "Quét mã QR để theo dõi lượt của ông/bà trên điện thoại",
        Align::Center,
    );
    pen.y += (8.0 * k) as i32;
    let counters_en = if t.counters.len() == 1 {
        format!("counter {counters}")
    } else {
        format!("counters {counters}")
    }
    .replace(' ', "\u{a0}");
    let wait_en = t
        .wait_en
        .as_ref()
        .map(|w| match w.as_str() {
            w if w == NOT_ENOUGH_DATA.1 => format!(" · wait: {w}"),
            w => format!(" · wait {w}"),
        })
        .unwrap_or_default();
    let session_en = t
        .session_en
        .as_ref()
        .map(|n| format!(" {n}."))
        .unwrap_or_default();
    pen.para(
        &f.regular,
        24.0 * k,
        &format!(
            "Ticket {} · {} · {counters_en}{wait_en}.{session_en} Scan the QR code to follow your turn.",
            t.number, t.service_en
        ),
        Align::Center,
    );
    pen.rule();
    pen.para(
        &f.bold,
        25.0 * k,
        "Vui lòng giữ phiếu và chú ý nghe gọi số.",
        Align::Center,
    );
    let height = (pen.y + (8.0 * k) as i32).clamp(1, TICKET_HEIGHT_MAX_DOTS as i32) as u32;
    let mut bmp = pen.bmp;
    bmp.height = height;
    bmp.dots.truncate((width * height) as usize);
    bmp
}
