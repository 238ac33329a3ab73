//! HTTP/1.1 on `std::net`, as much as the review pages need and no more: one request per
//! connection (`Connection: close`), heads parsed by `httparse` (hyper's parser) and capped at
//! 16 KiB, bodies by `Content-Length` only and never read past the body limit (chunked bodies
//! are refused), read and write timeouts, and form / query decoding that rejects what it cannot
//! decode exactly. A body over the limit is not read at all: whatever its declared size, it
//! costs the server no memory.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use percent_encoding::percent_decode_str;

/// Largest request head (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// What came with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The bytes (empty without a body).
    Bytes(Vec<u8>),
    /// Declared larger than the limit; not read.
    TooLarge(u64),
    /// Chunked or otherwise not a plain `Content-Length` body; not read.
    Unsupported,
}

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, … as sent.
    pub method: String,
    /// The path, before `?`, undecoded.
    pub path: String,
    /// The query, after `?`, undecoded.
    pub query: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response to send.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers besides `Content-Length` and `Connection`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with this status, content type and body.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of header `name`, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no request could be read (answered with a bare 400, or not at all).
#[derive(Debug)]
pub enum ReadError {
    /// The connection closed or timed out before a whole request arrived.
    Closed,
    /// Not an HTTP/1.x request we accept; the reason.
    Malformed(String),
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Gives each read only what is left of `deadline`, so a client sending a byte at a time
/// cannot hold a connection (and its thread) longer than that.
fn until(stream: &TcpStream, deadline: Instant) -> Result<(), ReadError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ReadError::Closed);
    }
    stream
        .set_read_timeout(Some(left))
        .map_err(|_| ReadError::Closed)
}

/// Reads one request from `stream` within `time`, its body only up to `body_limit` bytes.
pub fn read_request(
    stream: &mut TcpStream,
    body_limit: usize,
    time: Duration,
) -> Result<Request, ReadError> {
    let deadline = Instant::now() + time;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_len = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Malformed(format!(
                "request head over {MAX_HEAD} bytes"
            )));
        }
        until(stream, deadline)?;
        let n = stream.read(&mut chunk).map_err(|_| ReadError::Closed)?;
        if n == 0 {
            return Err(ReadError::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(&buf[..head_len]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(ReadError::Malformed("incomplete head".into()));
        }
        Err(e) => return Err(ReadError::Malformed(e.to_string())),
    }
    let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
        return Err(ReadError::Malformed("no request line".into()));
    };
    let mut fields = Vec::new();
    for h in parsed.headers.iter() {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| ReadError::Malformed(format!("header {} is not UTF-8", h.name)))?;
        fields.push((h.name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut request = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: fields,
        body: Body::Bytes(Vec::new()),
    };
    until(stream, deadline)?;
    request.body = read_body(stream, &request, buf[head_len..].to_vec(), body_limit)?;
    Ok(request)
}

fn read_body(
    stream: &mut TcpStream,
    request: &Request,
    mut already: Vec<u8>,
    limit: usize,
) -> Result<Body, ReadError> {
    if request.header("transfer-encoding").is_some() {
        return Ok(Body::Unsupported);
    }
    let lengths: Vec<&str> = request
        .headers
        .iter()
        .filter(|(k, _)| k == "content-length")
        .map(|(_, v)| v.as_str())
        .collect();
    let declared: u64 = match lengths.as_slice() {
        [] => 0,
        [v] => v
            .parse()
            .map_err(|_| ReadError::Malformed(format!("Content-Length {v:?}")))?,
        _ => return Err(ReadError::Malformed("two Content-Length headers".into())),
    };
    if declared > limit as u64 {
        return Ok(Body::TooLarge(declared));
    }
    let want = declared as usize;
    if already.len() > want {
        return Err(ReadError::Malformed(
            "more bytes than Content-Length".into(),
        ));
    }
    let mut rest = vec![0u8; want - already.len()];
    stream
        .read_exact(&mut rest)
        .map_err(|_| ReadError::Closed)?;
    already.extend_from_slice(&rest);
    Ok(Body::Bytes(already))
}

/// Writes `response` (no body for `HEAD`) and closes the connection; with `drain`, first
/// reads and drops for a moment whatever the client still sends (so that a refused upload
/// gets its answer instead of a reset connection).
pub fn write_response(stream: &mut TcpStream, response: &Response, head_only: bool, drain: bool) {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    let mut out = head.into_bytes();
    if !head_only {
        out.extend_from_slice(&response.body);
    }
    if stream
        .write_all(&out)
        .and_then(|()| stream.flush())
        .is_err()
    {
        return;
    }
    let _ = stream.shutdown(Shutdown::Write);
    if drain {
        linger(stream, Duration::from_secs(2), 4 << 20);
    }
}

/// Reads and drops until the peer closes, `max_bytes` were read or `max_time` passed.
fn linger(stream: &mut TcpStream, max_time: Duration, max_bytes: usize) {
    let start = Instant::now();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut sink = [0u8; 8192];
    let mut total = 0;
    while start.elapsed() < max_time && total < max_bytes {
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => break,
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` text (a query or a form body) into pairs.
/// Anything that does not decode exactly (bad percent escapes, invalid UTF-8, a field named
/// twice) is an error naming it.
pub fn parse_urlencoded(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let key = decode(k)?;
        let value = decode(v)?;
        if out.iter().any(|(have, _)| *have == key) {
            return Err(format!("field {key:?} given twice"));
        }
        out.push((key, value));
    }
    Ok(out)
}

fn decode(s: &str) -> Result<String, String> {
    let plus = s.replace('+', " ");
    let bytes = plus.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err(format!("bad percent escape in {s:?}"));
        }
    }
    percent_decode_str(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| format!("{s:?} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_exactly_or_not_at_all() {
        assert_eq!(
            parse_urlencoded("item=row-3&action=label&label=7&note=a+b%21").unwrap(),
            [
                ("item".into(), "row-3".into()),
                ("action".into(), "label".into()),
                ("label".into(), "7".into()),
                ("note".into(), "a b!".into())
            ]
        );
        assert!(
            parse_urlencoded("item=%zz")
                .unwrap_err()
                .contains("percent")
        );
        assert!(parse_urlencoded("item=%ff").unwrap_err().contains("UTF-8"));
        assert!(parse_urlencoded("a=1&a=2").unwrap_err().contains("twice"));
        assert_eq!(parse_urlencoded("").unwrap(), []);
    }

    #[test]
    fn requests_are_read_with_their_limits() {
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let send = |raw: &'static [u8]| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(raw).unwrap();
                let mut answer = String::new();
                let _ = s.read_to_string(&mut answer);
            })
        };
        let cases: [(&[u8], &str); 4] = [
            (
                b"POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
                "ok",
            ),
            (
                b"POST /a HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
                "large",
            ),
            (
                b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "chunked",
            ),
            (b"NOT HTTP AT ALL\r\n\r\n", "malformed"),
        ];
        for (raw, want) in cases {
            let client = send(raw);
            let (mut conn, _) = listener.accept().unwrap();
            let got = read_request(&mut conn, 16, Duration::from_secs(5));
            let what = match &got {
                Ok(r) if r.body == Body::Bytes(b"abc".to_vec()) => {
                    assert_eq!((r.path.as_str(), r.query.as_str()), ("/a", "x=1"));
                    assert_eq!(r.header("HOST"), Some("h"));
                    "ok"
                }
                Ok(r) if matches!(r.body, Body::TooLarge(_)) => "large",
                Ok(r) if r.body == Body::Unsupported => "chunked",
                Err(ReadError::Malformed(_)) => "malformed",
                other => panic!("{other:?}"),
            };
            assert_eq!(what, want);
            write_response(
                &mut conn,
                &Response::new(400, "text/plain", "no"),
                false,
                true,
            );
            client.join().unwrap();
        }
    }
}
