//! A small real SMTP server for the outbox tests, written with tokio: it speaks enough
//! ESMTP (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) for lettre
//! to deliver over a real TCP connection, and keeps every accepted message. Chosen over
//! PyPI's aiosmtpd because the tests must stop it and start it again on the same port
//! ("SMTP down for a while") and count messages exactly, which is simpler in-process; it
//! offers no STARTTLS, so `?tls=none` or the opportunistic default both send in clear.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A received message: envelope and raw data (headers and body).
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

pub struct SmtpServer {
    pub addr: SocketAddr,
    pub messages: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl SmtpServer {
    /// Starts on `addr` (port 0 for any), keeping messages in `messages`.
    pub async fn start(addr: SocketAddr, messages: Arc<Mutex<Vec<Received>>>) -> SmtpServer {
        let listener = TcpListener::bind(addr).await.expect("bind SMTP");
        let addr = listener.local_addr().expect("addr");
        let store = messages.clone();
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((socket, _)) = listener.accept().await {
                sessions.spawn(session(socket, store.clone()));
            }
        });
        SmtpServer {
            addr,
            messages,
            task,
        }
    }

    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    /// Stops listening and drops every open session.
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn session(socket: tokio::net::TcpStream, store: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 test.local ESMTP\r\n").await;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-test.local\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 test.local\r\n",
            "MAIL" => {
                from = command[5..].trim().to_owned();
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(command[5..].trim().to_owned());
                b"250 OK\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            "DATA" => {
                let _ = write.write_all(b"354 end with .\r\n").await;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                store.lock().unwrap().push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
                b"250 queued\r\n"
            }
            _ => b"502 not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
