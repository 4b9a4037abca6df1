//! Small HTTP servers on 127.0.0.1 that answer like the exposed endpoints (or refuse, or
//! never answer), for `verify`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
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

/// One request as a test server reads it: the path and the headers (names in lower case).
pub struct Incoming {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Incoming {
    /// The value of header `name` (lower case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves on a free port of 127.0.0.1 until the test ends, one thread per connection, one
/// request per connection: `answer` gives the whole HTTP response, or `None` to accept and never
/// answer. Returns the port.
pub fn serve<F>(answer: F) -> u16
where
    F: Fn(&Incoming) -> Option<String> + Clone + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let Some(request) = read_request(&stream) else {
                    return;
                };
                match answer(&request) {
                    Some(text) => {
                        let _ = stream.write_all(text.as_bytes());
                    }
                    None => std::thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    port
}

/// The request line's path and the headers, up to the blank line.
fn read_request(stream: &TcpStream) -> Option<Incoming> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    Some(Incoming { path, headers })
}

/// A whole HTTP/1.1 response that closes the connection.
pub fn respond(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

impl Web {
    pub fn start(behaviour: Behaviour) -> Self {
        let port = serve(move |request| answer(behaviour, &request.path));
        Self { port }
    }

    /// A port nothing listens on.
    pub fn closed_port() -> u16 {
        crate::ec2::moto::free_port()
    }
}

fn answer(behaviour: Behaviour, path: &str) -> Option<String> {
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
