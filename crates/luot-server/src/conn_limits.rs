//! Limits on HTTP connections, so slow or greedy clients cannot tie up the server
//! (docs/protocol.md §14):
//!
//! - **header read timeout**: a request's head (request line and headers) must arrive within
//!   [`HttpLimits::header_read_timeout`] of the server starting to wait for it, on a new
//!   connection and between requests of a kept-alive one; otherwise the connection is closed.
//!   This is hyper's own `header_read_timeout`, which needs a timer ([`http1_builder`]).
//! - **body read timeout**: a request's whole body must arrive within
//!   [`HttpLimits::body_read_timeout`] of its head; otherwise the answer is 408
//!   `body_timeout` and the connection is closed ([`body_deadline`]).
//! - **connections per address**: one client address holds at most
//!   [`HttpLimits::connections_per_address_max`] connections at once (websockets included, for
//!   as long as they live); over that a new connection gets a 503 `too_many_connections` and is
//!   closed at once, and the address's other connections carry on ([`AddressSlots`]).
//!
//! The pieces are separate so that any accept loop can use them (plain TCP here, TLS later):
//! take a slot, wrap the stream in [`Counted`], serve it with [`http1_builder`], and layer
//! [`body_deadline`] on the router. [`serve`] is that loop for plain TCP.

use crate::error::ApiError;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Default for [`HttpLimits::header_read_timeout`].
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);
/// Default for [`HttpLimits::body_read_timeout`].
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`HttpLimits::connections_per_address_max`]: above the anonymous websocket cap
/// (1 000), so that a hall of phones behind one NAT address still fits.
pub const CONNECTIONS_PER_ADDRESS_MAX: usize = 1_500;
/// The kernel's send buffer per connection (`SO_SNDBUF`; Linux doubles it for its bookkeeping).
/// Without it the buffer grows to `tcp_wmem`'s maximum (4 MiB here, and loopback starts near
/// it): a display that stops reading would hold megabytes of old events in the kernel before its
/// socket falls behind and is resynced (invariant 6). 64 KiB is some 100 events of a busy hall.
pub const SEND_BUFFER_BYTES: usize = 64 * 1024;
/// How long a refused connection is given to take its 503 before it is dropped.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// The connection limits; see the module documentation.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub connections_per_address_max: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            connections_per_address_max: CONNECTIONS_PER_ADDRESS_MAX,
        }
    }
}

/// An HTTP/1.1 connection builder with the header read timeout in force.
pub fn http1_builder(limits: &HttpLimits) -> hyper::server::conn::http1::Builder {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    b
}

// ----- connections per address -----

/// Open connections per client address.
#[derive(Debug, Clone)]
pub struct AddressSlots {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place in [`AddressSlots`]; freed when dropped.
#[derive(Debug)]
pub struct Slot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl AddressSlots {
    pub fn new(max: usize) -> AddressSlots {
        AddressSlots {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for a new connection from `ip`, or `None` when that address holds the maximum.
    pub fn try_acquire(&self, ip: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().expect("address slots lock");
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            ip,
            open: self.open.clone(),
        })
    }

    /// Connections open from `ip` now.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().expect("address slots lock");
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().expect("address slots lock");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A connection's stream holding its [`Slot`]: the slot is freed when the stream is dropped,
/// which for a websocket is when the socket ends (hyper hands the stream to the upgrade).
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    _slot: Slot,
}

impl<S> Counted<S> {
    pub fn new(inner: S, slot: Slot) -> Counted<S> {
        Counted { inner, _slot: slot }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Answers a connection over the cap with a 503 and closes it, without reading its request.
pub async fn refuse<S: AsyncWrite + Unpin>(mut stream: S, max: usize) {
    let body = serde_json::to_string(
        &ApiError::TooManyConnections {
            per_address: Some(max),
        }
        .to_dto(),
    )
    .expect("error serializes");
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\nretry-after: 5\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

// ----- body read timeout -----

/// A request body that fails once its deadline passes, and says so in `timed_out`.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timed_out: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new("request body read timeout"))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: a request's body must arrive whole within `limit` of its head. When it does not,
/// the answer is 408 `body_timeout` (whatever the handler made of the broken body) and the
/// connection closes.
pub async fn body_deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if http_body::Body::is_end_stream(req.body()) {
        return next.run(req).await;
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let flag = timed_out.clone();
    let req = req.map(move |inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            timed_out: flag,
        })
    });
    let res = next.run(req).await;
    if !timed_out.load(Ordering::Relaxed) {
        return res;
    }
    let s = limit.as_secs_f64();
    let mut res = ApiError::BodyTimeout { secs: s }.into_response();
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

// ----- the accept loop -----

/// Serves `router` on `listener` over HTTP/1.1 (inside TLS when `tls` is given) with these
/// limits until `shutdown`, then
/// lets open requests finish. Each connection sees its peer address as `ConnectInfo`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: CancellationToken,
) {
    let router = router.layer(axum::middleware::from_fn_with_state(
        limits.body_read_timeout,
        body_deadline,
    ));
    let slots = AddressSlots::new(limits.connections_per_address_max);
    let builder = http1_builder(&limits);
    let connections = TaskTracker::new();
    loop {
        let (tcp, addr) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Websocket traffic is many small frames each way (a reply right after an event): with
        // Nagle's algorithm on, a frame waits for the peer's delayed ACK, up to 40 ms.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        if let Err(e) = socket2::SockRef::from(&tcp).set_send_buffer_size(SEND_BUFFER_BYTES) {
            tracing::debug!(error = %e, "could not set SO_SNDBUF");
        }
        let Some(slot) = slots.try_acquire(addr.ip()) else {
            tracing::warn!(peer = %addr.ip(), max = slots.max, "too many connections from one address");
            connections.spawn(refuse(tcp, slots.max));
            continue;
        };
        let stream = Counted::new(tcp, slot);
        let (router, builder, shutdown) = (router.clone(), builder.clone(), shutdown.clone());
        match &tls {
            None => {
                connections.spawn(serve_connection(stream, addr, router, builder, shutdown));
            }
            Some(acceptor) => {
                // Each handshake in its own task under a timeout, holding its address slot: a
                // slow or failed handshake (plain HTTP on this port, an untrusted certificate,
                // a scanner) is the client's problem, logged at debug, and delays no one else.
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    match tokio::time::timeout(
                        crate::tls::HANDSHAKE_TIMEOUT,
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(tls)) => serve_connection(tls, addr, router, builder, shutdown).await,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %addr, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(peer = %addr, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
    connections.close();
    connections.wait().await;
}

/// Serves one connection (with upgrades, for `/ws`) until it ends; on `shutdown` it finishes
/// the request in hand and closes.
pub async fn serve_connection<S>(
    stream: S,
    addr: SocketAddr,
    router: Router,
    builder: hyper::server::conn::http1::Builder,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(addr));
        router.clone().oneshot(req.map(Body::new))
    });
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(peer = %addr, error = %e, "connection ended");
            }
            return;
        }
        _ = shutdown.cancelled() => conn.as_mut().graceful_shutdown(),
    }
    if let Err(e) = conn.await {
        tracing::debug!(peer = %addr, error = %e, "connection ended");
    }
}
