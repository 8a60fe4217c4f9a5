//! Reading `multipart/form-data` bodies as Discord does for uploads: a `payload_json` part
//! with the message, and `files[n]` parts with the files, each checked.

use serde_json::Value;

/// One uploaded file.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The part's name, like `files[0]`.
    pub name: String,
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Upload {
    /// Whether the bytes are a PNG image with a header Discord can read.
    pub fn is_png(&self) -> bool {
        self.bytes.starts_with(b"\x89PNG\r\n\x1a\n") && self.bytes.get(12..16) == Some(b"IHDR")
    }

    /// The PNG's width and height, from its header.
    pub fn png_size(&self) -> Option<(u32, u32)> {
        let be = |at: usize| {
            let b = self.bytes.get(at..at + 4)?;
            Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        self.is_png().then_some((be(16)?, be(20)?))
    }
}

/// Discord's limit on one upload.
const MAX_FILE: usize = 10 * 1024 * 1024;

/// The message of a multipart body and its files, or what is wrong with it.
pub fn parse(content_type: &str, body: &[u8]) -> Result<(Value, Vec<Upload>), String> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or("multipart body without a boundary")?;
    let delimiter = format!("--{boundary}");
    let mut message = Value::Null;
    let mut uploads = Vec::new();
    let text = body;
    let mut parts = split(text, delimiter.as_bytes());
    // Everything before the first delimiter is preamble; a part of `--` closes the body.
    parts.remove(0);
    let mut closed = false;
    for part in parts {
        if part.starts_with(b"--") {
            closed = true;
            break;
        }
        let part = part
            .strip_prefix(b"\r\n")
            .ok_or("a part does not start on a new line")?;
        let end = find(part, b"\r\n\r\n").ok_or("a part without a blank line after its headers")?;
        let headers = String::from_utf8_lossy(&part[..end]).to_string();
        let mut data = &part[end + 4..];
        data = data
            .strip_suffix(b"\r\n")
            .ok_or("a part does not end on a new line")?;
        let disposition = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .ok_or("a part without Content-Disposition")?;
        let field = |key: &str| {
            disposition.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix(&format!("{key}="))
                    .map(|v| v.trim_matches('"').to_owned())
            })
        };
        let name = field("name").ok_or("a part without a name")?;
        if name == "payload_json" {
            message = serde_json::from_slice(data)
                .map_err(|e| format!("payload_json is not JSON: {e}"))?;
        } else if name.starts_with("files[") && name.ends_with(']') {
            let filename = field("filename").ok_or_else(|| format!("{name} has no filename"))?;
            let content_type = headers
                .lines()
                .find_map(|l| {
                    let (key, value) = l.split_once(':')?;
                    key.eq_ignore_ascii_case("content-type")
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_default();
            if data.len() > MAX_FILE {
                return Err(format!(
                    "{name} is {} bytes, over Discord's limit (40005)",
                    data.len()
                ));
            }
            uploads.push(Upload {
                name,
                filename,
                content_type,
                bytes: data.to_vec(),
            });
        } else {
            return Err(format!("unexpected part {name}"));
        }
    }
    if !closed {
        return Err("the body does not end with the closing delimiter".into());
    }
    for upload in &uploads {
        if upload.filename.to_ascii_lowercase().ends_with(".png") && !upload.is_png() {
            return Err(format!(
                "{} ({}) is not a PNG image",
                upload.name, upload.filename
            ));
        }
    }
    // Attachments the message names must be among the files uploaded with it.
    if let Some(listed) = message["attachments"].as_array() {
        for attachment in listed {
            let id = attachment["id"]
                .as_u64()
                .or_else(|| attachment["id"].as_str()?.parse().ok());
            let uploaded =
                id.is_some_and(|id| uploads.iter().any(|u| u.name == format!("files[{id}]")));
            if !uploaded {
                return Err(format!("attachment {attachment} names no uploaded file"));
            }
        }
    }
    Ok((message, uploads))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut text: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find(text, delimiter) {
        parts.push(&text[..at]);
        text = &text[at + delimiter.len()..];
    }
    parts.push(text);
    parts
}
