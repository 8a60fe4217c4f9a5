//! Raw HTTP/1.1 over keep-alive loopback connections, requests serialized before they are
//! timed, so a figure is the bot's time and not a client library's; and the bot's side of
//! those connections as the kernel sees it.

use std::collections::HashSet;
use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One request, serialized whole: request line, headers and body.
pub struct Request(Vec<u8>);

impl Request {
    pub fn new(
        method: &str,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Request {
        let head: String = std::iter::once(format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n",
            body.len()
        ))
        .chain(
            headers
                .iter()
                .map(|(name, value)| format!("{name}: {value}\r\n")),
        )
        .chain(std::iter::once("\r\n".to_owned()))
        .collect();
        Request([head.as_bytes(), body].concat())
    }
}

/// A response as received.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON; `Null` when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// One keep-alive connection, used for one request at a time.
pub struct Connection {
    stream: TcpStream,
    received: Vec<u8>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).await.expect("connect to the bot");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        Connection {
            stream,
            received: Vec::with_capacity(4096),
        }
    }

    /// The connection's own port, by which the bot's side of it can be found.
    pub fn local_port(&self) -> u16 {
        self.stream.local_addr().expect("a local address").port()
    }

    /// Sends `request` and reads its whole response.
    pub async fn send(&mut self, request: &Request) -> Answer {
        self.write(request).await.expect("send the request");
        self.read().await.unwrap_or_else(|error| panic!("{error}"))
    }

    pub async fn write(&mut self, request: &Request) -> Result<(), String> {
        self.stream
            .write_all(&request.0)
            .await
            .map_err(|e| format!("cannot send the request: {e}"))
    }

    /// Reads the next whole response; an error names what went wrong, so a caller that
    /// counts failures need not panic.
    pub async fn read(&mut self) -> Result<Answer, String> {
        loop {
            if let Some(answer) = self.take_answer()? {
                return Ok(answer);
            }
            let read = self
                .stream
                .read_buf(&mut self.received)
                .await
                .map_err(|e| format!("cannot read the response: {e}"))?;
            if read == 0 {
                return Err("the bot closed the connection before answering".to_owned());
            }
        }
    }

    /// The first whole response received, if one is.
    fn take_answer(&mut self) -> Result<Option<Answer>, String> {
        let Some(head_end) = self.received.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(None);
        };
        let head_end = head_end + 4;
        let head = std::str::from_utf8(&self.received[..head_end])
            .map_err(|_| "a head that is not ASCII".to_owned())?;
        let status = head
            .get(9..12)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("no status in {head:?}"))?;
        let length: usize = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse().ok())
            .ok_or_else(|| format!("no content-length in {head:?}"))?;
        let end = head_end + length;
        if self.received.len() < end {
            return Ok(None);
        }
        let body = self.received[head_end..end].to_vec();
        self.received.drain(..end);
        Ok(Some(Answer { status, body }))
    }
}

/// How many of the connections from `clients` (their local ports) to `server` the kernel
/// holds established on the server's side with nothing left unread: the bot has taken each
/// request off its socket. Loopback connections are in this machine's `/proc/net/tcp`.
pub fn drained_connections(server: SocketAddr, clients: &HashSet<u16>) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let port = |address: &str| {
        address
            .rsplit(':')
            .next()
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    table
        .lines()
        .skip(1)
        .filter(|line| {
            // `sl local remote st tx_queue:rx_queue …`; state 01 is ESTABLISHED.
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(remote), Some(state), Some(queues)) =
                (fields.get(1), fields.get(2), fields.get(3), fields.get(4))
            else {
                return false;
            };
            let unread = queues
                .split_once(':')
                .and_then(|(_, rx)| u64::from_str_radix(rx, 16).ok());
            *state == "01"
                && port(local) == Some(server.port())
                && port(remote).is_some_and(|p| clients.contains(&p))
                && unread == Some(0)
        })
        .count()
}
