//! What every scenario's clients share: registering users, opening
//! authenticated raw WebSockets, and the frames they send and read (each
//! message's text starts with its send time, so latency needs no clock
//! shared with the server).

use crate::target::Target;
use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use natter_proto::{ClientId, ConversationId};
use natter_sdk::Client;
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

/// A raw client WebSocket.
pub type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

const BENCH_PASSWORD: &str = "bench password 1234";

/// Registers `n` fresh users and returns clients logged in as them, in
/// order.
pub async fn users(url: &str, n: usize) -> Result<Vec<Client>> {
    let tag = &ClientId::random().0[..8];
    let mut out = Vec::with_capacity(n);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let url = url.to_owned();
        let name = format!("b{tag}-{i}");
        set.spawn(async move {
            // Keep the session, not the client: each client pools its own
            // HTTP connection, and ten thousand idle ones would use up the
            // file descriptors of both processes. A client rebuilt from the
            // session connects only when it is used.
            let registered = Client::register(&url, &name, BENCH_PASSWORD, Some("bench"))
                .await
                .and_then(|c| {
                    let session = c.session().ok_or(natter_sdk::Error::NotLoggedIn)?;
                    Client::with_session(&url, session)
                });
            (i, registered)
        });
        if set.len() >= 8
            && let Some(r) = set.join_next().await
        {
            let (i, c) = r?;
            out.push((i, c?));
        }
    }
    while let Some(r) = set.join_next().await {
        let (i, c) = r?;
        out.push((i, c?));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

/// Opens an authenticated socket from source address 127.0.x.y (picked by
/// `n`), so a run is not limited by one address's ephemeral ports. The port
/// is chosen at connect time (`IP_BIND_ADDRESS_NO_PORT`), so binding does not
/// reserve one per address.
pub async fn open_ws(target: &Target, token: &str, n: usize) -> Result<Ws> {
    let addr = target.ws_addr()?;
    let socket = TcpSocket::new_v4()?;
    if addr.ip().is_loopback() {
        #[cfg(target_os = "linux")]
        nix::sys::socket::setsockopt(
            &socket,
            nix::sys::socket::sockopt::IpBindAddressNoPort,
            &true,
        )?;
        let src = std::net::Ipv4Addr::new(127, 0, (1 + (n / 250) % 250) as u8, (1 + n % 250) as u8);
        socket.bind((src, 0).into())?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/v1/ws"), stream).await?;
    let hello = serde_json::json!({"type": "hello", "token": token}).to_string();
    ws.send(Message::text(hello)).await?;
    loop {
        let msg = ws.next().await.context("socket closed during hello")??;
        if let Message::Text(t) = msg {
            let f: Frame<'_> = serde_json::from_str(t.as_str())?;
            match f.kind {
                "synced" => return Ok(ws),
                "error" => bail!("hello refused: {t}"),
                _ => {}
            }
        }
    }
}

/// The parts of a server frame the scenarios look at, borrowed from its
/// text.
#[derive(Deserialize)]
pub struct Frame<'a> {
    /// `type`: `synced`, `sent`, `event`, `error`, …
    #[serde(rename = "type", borrow)]
    pub kind: &'a str,
    /// The event of an `event` frame.
    #[serde(default, borrow)]
    pub event: Option<FrameEvent<'a>>,
    /// The client id a `sent` frame acknowledges.
    #[serde(default, borrow)]
    pub client_id: Option<&'a str>,
}

/// The parts of an event the scenarios look at.
#[derive(Deserialize)]
pub struct FrameEvent<'a> {
    /// `kind`: `message`, `receipt`, …
    #[serde(borrow)]
    pub kind: &'a str,
    /// A message's text.
    #[serde(default, borrow)]
    pub text: Option<std::borrow::Cow<'a, str>>,
}

/// Reads frames until `pred` accepts one; fails after 30 s.
pub async fn wait_frame(ws: &mut Ws, pred: impl Fn(&serde_json::Value) -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = tokio::time::timeout(left, ws.next())
            .await
            .context("timed out waiting for a frame")?
            .context("socket closed")??;
        if let Message::Text(t) = msg {
            let v: serde_json::Value = serde_json::from_str(t.as_str())?;
            if pred(&v) {
                return Ok(());
            }
        }
    }
}

/// A `send` frame whose client id is `c<seq>`, so that its `sent`
/// acknowledgement says which send it answers.
pub fn send_frame(conv: ConversationId, seq: u64, text: &str) -> String {
    format!(r#"{{"type":"send","conv":"{conv}","client_id":"c{seq}","text":"{text}"}}"#)
}

/// Message text: send time (µs since `epoch`), a colon, padding.
pub fn payload(epoch: Instant, size: usize) -> String {
    payload_at(epoch.elapsed().as_micros() as u64, size)
}

/// Message text stamped with `at` (µs since the run's epoch).
pub fn payload_at(at: u64, size: usize) -> String {
    let mut s = format!("{at}:");
    while s.len() < size {
        s.push('x');
    }
    s
}

/// The send time a message text starts with.
pub fn sent_at(text: &str) -> Option<u64> {
    text.split(':').next()?.parse().ok()
}

/// The send time embedded in a message frame's text, found without parsing
/// the whole frame (a fan-out run reads hundreds of thousands of frames).
pub fn frame_sent_at(frame: &str) -> Option<u64> {
    let at = frame.find("\"text\":\"")? + 8;
    let digits = &frame[at..];
    let end = digits.find(':')?;
    digits[..end].parse().ok()
}
