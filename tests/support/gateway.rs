//! A plain `ws://` Discord gateway: Hello, Identify → READY, heartbeat ACKs, Resume, and
//! `INTERACTION_CREATE` dispatches.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::fake_discord::FakeDiscord;
use super::messages;

/// Session id the fake hands out in READY.
pub const SESSION_ID: &str = "fake-session";
/// Heartbeat interval announced in Hello, in milliseconds.
pub const HEARTBEAT_INTERVAL_MS: u64 = 41_250;

/// `GET /gateway` (any query, e.g. `?v=10&encoding=json`): upgrade to a websocket session.
pub async fn upgrade(ws: WebSocketUpgrade, State(fake): State<FakeDiscord>) -> Response {
    ws.on_upgrade(move |socket| session(fake, socket))
}

async fn session(fake: FakeDiscord, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let session_no = {
        let mut st = fake.lock();
        st.gateway.session_no += 1;
        st.gateway.session_no
    };
    let _ =
        tx.send(json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}).to_string());
    loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(out) = out else { break };
                if sink.send(Message::Text(out)).await.is_err() {
                    break;
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => on_frame(&fake, session_no, &tx, &text),
                Some(Ok(Message::Binary(_))) => {
                    fake.violation("gateway: binary frame received (ETF is not supported)".into());
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            }
        }
    }
    let mut st = fake.lock();
    if st.gateway.session_no == session_no {
        st.gateway.session = None;
    }
    drop(st);
    fake.bump();
}

fn next_seq(fake: &FakeDiscord) -> u64 {
    let mut st = fake.lock();
    st.gateway.seq += 1;
    st.gateway.seq
}

fn on_frame(fake: &FakeDiscord, session_no: u64, tx: &mpsc::UnboundedSender<String>, text: &str) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        fake.violation(format!("gateway: frame is not JSON: {text}"));
        return;
    };
    match frame["op"].as_u64() {
        Some(1) => {
            let _ = tx.send(json!({"op": 11}).to_string());
        }
        Some(2) => {
            if frame["d"]["token"].as_str().is_none_or(str::is_empty) {
                fake.violation("gateway: Identify without a token".into());
            }
            let seq = next_seq(fake);
            let ready = json!({
                "op": 0, "t": "READY", "s": seq,
                "d": {
                    "v": 10,
                    "user": messages::bot_user(fake.app_id()),
                    "guilds": [],
                    "session_id": SESSION_ID,
                    "resume_gateway_url": fake.gateway_url(),
                    "shard": [0, 1],
                    "application": {"id": fake.app_id().to_string(), "flags": 0},
                }
            });
            let _ = tx.send(ready.to_string());
            let mut st = fake.lock();
            st.gateway.identify = Some(frame["d"].clone());
            st.gateway.identified_sessions += 1;
            if st.gateway.session_no == session_no {
                st.gateway.session = Some(tx.clone());
            }
            drop(st);
            fake.bump();
        }
        Some(6) => {
            if frame["d"]["session_id"] == json!(SESSION_ID) {
                let seq = next_seq(fake);
                let _ = tx.send(json!({"op": 0, "t": "RESUMED", "s": seq, "d": {}}).to_string());
                let mut st = fake.lock();
                st.gateway.resumes += 1;
                if st.gateway.session_no == session_no {
                    st.gateway.session = Some(tx.clone());
                }
                drop(st);
                fake.bump();
            } else {
                let _ = tx.send(json!({"op": 9, "d": false}).to_string());
            }
        }
        Some(3 | 4 | 8) => {}
        other => fake.violation(format!("gateway: unexpected opcode {other:?}: {text}")),
    }
}

impl FakeDiscord {
    /// Waits until a gateway session has identified (or resumed) and is live.
    pub async fn wait_gateway_ready(&self) {
        self.wait_until("a gateway session has identified", |f| {
            f.lock().gateway.session.is_some()
        })
        .await;
    }

    /// How many times a client identified (a reconnect with a fresh session counts again).
    pub fn gateway_identifies(&self) -> u64 {
        self.lock().gateway.identified_sessions
    }

    /// How many times a client resumed.
    pub fn gateway_resumes(&self) -> u64 {
        self.lock().gateway.resumes
    }

    /// Sends a dispatch event (`op 0`) on the live session, waiting for one if needed.
    pub async fn dispatch(&self, event: &str, d: Value) {
        self.wait_gateway_ready().await;
        let mut st = self.lock();
        st.gateway.seq += 1;
        let frame = json!({"op": 0, "t": event, "s": st.gateway.seq, "d": d});
        let sent = st
            .gateway
            .session
            .as_ref()
            .is_some_and(|s| s.send(frame.to_string()).is_ok());
        drop(st);
        assert!(sent, "gateway session closed before {event} could be sent");
    }

    /// Registers the interaction (its 3-second clock starts now) and sends it as
    /// `INTERACTION_CREATE`. The payload is checked against serenity's `Interaction` first.
    pub async fn dispatch_interaction(&self, payload: Value) {
        if let Err(e) =
            serde_json::from_value::<serenity::model::application::Interaction>(payload.clone())
        {
            panic!("interaction payload does not deserialize into serenity's Interaction: {e}\n{payload:#}");
        }
        self.wait_gateway_ready().await;
        self.register_interaction(&payload);
        self.dispatch("INTERACTION_CREATE", payload).await;
    }

    /// Asks the client to reconnect (op 7), as Discord does during maintenance; serenity then
    /// reconnects and resumes.
    pub fn request_reconnect(&self) {
        let st = self.lock();
        if let Some(s) = &st.gateway.session {
            let _ = s.send(json!({"op": 7, "d": null}).to_string());
        }
    }
}
