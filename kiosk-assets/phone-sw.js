// Service worker of the phone ticket page, for one thing only: Android browsers show system
// notifications only through a service worker. No fetch handler: nothing is cached or intercepted.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// Tapping the notification brings the ticket page back.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((list) => {
      const page = list.find((c) => new URL(c.url).pathname.startsWith("/t/"));
      if (page) return page.focus();
      return undefined;
    }),
  );
});
