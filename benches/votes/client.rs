//! The load generator's side of the wire: keep-alive HTTP/1.1 connections that send requests
//! serialized before the flood, as `wrk` does, so the flood's CPU goes to the bot.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One request, serialized whole: request line, headers and body.
pub struct Prepared(Vec<u8>);

impl Prepared {
    pub fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Prepared {
        let head: String = std::iter::once(format!(
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n",
            body.len()
        ))
        .chain(
            headers
                .iter()
                .map(|(name, value)| format!("{name}: {value}\r\n")),
        )
        .chain(std::iter::once("\r\n".to_owned()))
        .collect();
        Prepared([head.as_bytes(), body].concat())
    }
}

/// A response as received.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
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

    /// Sends `request` and reads its whole response.
    pub async fn send(&mut self, request: &Prepared) -> Answer {
        self.stream
            .write_all(&request.0)
            .await
            .expect("send the request");
        loop {
            if let Some(answer) = self.take_answer() {
                return answer;
            }
            let read = self
                .stream
                .read_buf(&mut self.received)
                .await
                .expect("read the response");
            assert!(read > 0, "the bot closed the connection mid-response");
        }
    }

    /// The first whole response received, if one is.
    fn take_answer(&mut self) -> Option<Answer> {
        let head_end = self.received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = std::str::from_utf8(&self.received[..head_end]).expect("an ASCII head");
        let status = head
            .get(9..12)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        let length: usize = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no content-length in {head:?}"));
        let end = head_end + length;
        if self.received.len() < end {
            return None;
        }
        let body = self.received[head_end..end].to_vec();
        self.received.drain(..end);
        Some(Answer { status, body })
    }
}
