//! Small HTTP servers on 127.0.0.1 that answer like the exposed endpoints (or refuse, or
//! never answer), for `verify`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

/// How a server answers.
#[derive(Clone, Copy)]
pub enum Behaviour {
    /// Like Bookinfo's productpage.
    Productpage,
    /// Like Grafana: healthy, and sends strangers to /login.
    Grafana,
    /// Grafana with its database down.
    UnhealthyGrafana,
    /// Accepts and never answers.
    Silent,
}

/// A server running on `port` until the test ends.
pub struct Web {
    pub port: u16,
}

impl Web {
    pub fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
                    // The headers, up to the blank line.
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                            break;
                        }
                    }
                    let answer = answer(behaviour, &path);
                    match answer {
                        Some(text) => {
                            let _ = stream.write_all(text.as_bytes());
                        }
                        None => std::thread::sleep(Duration::from_secs(30)),
                    }
                });
            }
        });
        Self { port }
    }

    /// A port nothing listens on.
    pub fn closed_port() -> u16 {
        crate::ec2::moto::free_port()
    }
}

fn answer(behaviour: Behaviour, path: &str) -> Option<String> {
    let respond = |status: &str, headers: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    Some(match (behaviour, path) {
        (Behaviour::Silent, _) => return None,
        (Behaviour::Productpage, "/productpage") => respond(
            "200 OK",
            "Content-Type: text/html\r\n",
            "<html><head><title>Simple Bookstore App</title></head><body>The Comedy of Errors</body></html>",
        ),
        (Behaviour::Grafana, "/api/health") => respond(
            "200 OK",
            "Content-Type: application/json\r\n",
            "{\"database\": \"ok\", \"version\": \"12.1.1\"}",
        ),
        (Behaviour::UnhealthyGrafana, "/api/health") => respond(
            "503 Service Unavailable",
            "Content-Type: application/json\r\n",
            "{\"database\": \"failing\"}",
        ),
        (Behaviour::Grafana | Behaviour::UnhealthyGrafana, "/") => respond(
            "302 Found",
            "Location: /login\r\n",
            "<a href=\"/login\">Found</a>.",
        ),
        _ => respond("404 Not Found", "", "not found"),
    })
}
