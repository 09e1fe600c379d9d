//! Just enough HTTP/1.1 to relay requests and answers byte for byte in the
//! fault proxy: message heads, bodies by `Content-Length` or chunked.

use std::io::{self, BufRead, Read, Write};

/// Largest head (start line and headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest body relayed; the proxy holds bodies in memory.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// A start line and its headers, in order, names as sent.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub start: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Removes every header called `name`.
    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Replaces every header called `name` by one with `value`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// Whether the `Connection` header lists `token`.
    pub fn connection_has(&self, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// The head as sent on the wire, with the blank line that ends it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }

    fn is_chunked(&self) -> bool {
        self.get("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    fn content_length(&self) -> io::Result<Option<usize>> {
        match self.get("content-length") {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| invalid(format!("bad Content-Length `{v}`"))),
        }
    }
}

/// Reads a message head; `None` when the peer closed before sending one.
pub(crate) fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            if lines.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a message head",
            ));
        }
        total += n;
        if total > MAX_HEAD {
            return Err(invalid("message head too large".into()));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            // Blank lines before a request are allowed (RFC 9112, 2.2).
            if lines.is_empty() {
                continue;
            }
            break;
        }
        lines.push(line);
    }
    let mut lines = lines.into_iter();
    let start = lines.next().unwrap_or_default();
    let headers = lines
        .map(|line| match line.split_once(':') {
            Some((name, value)) => Ok((name.trim().to_string(), value.trim().to_string())),
            None => Err(invalid(format!("malformed header line `{line}`"))),
        })
        .collect::<io::Result<_>>()?;
    Ok(Some(Head { start, headers }))
}

/// Reads a request body: chunked, by `Content-Length`, or none.
pub(crate) fn read_request_body(reader: &mut impl BufRead, head: &Head) -> io::Result<Vec<u8>> {
    if head.is_chunked() {
        read_chunked(reader)
    } else {
        read_exact_len(reader, head.content_length()?.unwrap_or(0))
    }
}

/// Reads a response body to a request made with `method`; a response with
/// neither length nor chunking runs until the connection closes.
pub(crate) fn read_response_body(
    reader: &mut impl BufRead,
    head: &Head,
    method: &str,
) -> io::Result<Vec<u8>> {
    let status = status_code(head);
    if method.eq_ignore_ascii_case("HEAD") || status / 100 == 1 || status == 204 || status == 304 {
        return Ok(Vec::new());
    }
    if head.is_chunked() {
        return read_chunked(reader);
    }
    match head.content_length()? {
        Some(len) => read_exact_len(reader, len),
        None => {
            let mut body = Vec::new();
            reader.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
            if body.len() > MAX_BODY {
                return Err(invalid("body too large".into()));
            }
            Ok(body)
        }
    }
}

/// The status code of a response head (0 when unreadable).
pub(crate) fn status_code(head: &Head) -> u16 {
    head.start
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// The standard reason phrase for the codes the proxy makes up.
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Writes `head` and `body` and flushes.
pub(crate) fn write_message(out: &mut impl Write, head: &Head, body: &[u8]) -> io::Result<()> {
    let mut bytes = head.to_bytes();
    bytes.extend_from_slice(body);
    out.write_all(&bytes)?;
    out.flush()
}

fn read_exact_len(reader: &mut impl Read, len: usize) -> io::Result<Vec<u8>> {
    if len > MAX_BODY {
        return Err(invalid(format!("body of {len} bytes is too large")));
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunked body",
            ));
        }
        let size = line.trim().split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("bad chunk size `{}`", line.trim())))?;
        if size == 0 {
            // Trailers, up to the blank line that ends the body.
            loop {
                let mut trailer = String::new();
                if reader.read_line(&mut trailer)? == 0 || trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large".into()));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    #[test]
    fn reads_a_chunked_response() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n";
        let mut reader = BufReader::new(&wire[..]);
        let head = read_head(&mut reader).expect("head").expect("some head");
        assert_eq!(status_code(&head), 200);
        let body = read_response_body(&mut reader, &head, "GET").expect("body");
        assert_eq!(body, b"abcde");
    }

    #[test]
    fn head_answers_have_no_body() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
        let mut reader = BufReader::new(&wire[..]);
        let head = read_head(&mut reader).expect("head").expect("some head");
        let body = read_response_body(&mut reader, &head, "HEAD").expect("body");
        assert!(body.is_empty());
    }
}
