//! Text from bytes: UTF-8 only, and when it is not, which encoding it looks like and where the
//! first byte that is not UTF-8 sits.

/// Why bytes are not UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    /// What the bytes are instead ("UTF-16 little-endian (by its byte-order mark)", "byte
    /// 0xE9, which is not UTF-8").
    pub what: String,
    /// Byte offset of the first byte that is not UTF-8 text.
    pub offset: usize,
    /// 1-based line of that byte.
    pub line: usize,
    /// 1-based column of that byte, counted in characters.
    pub col: usize,
    /// The text before that byte, for showing the line.
    pub prefix: String,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Byte-order marks of the encodings YAML allows besides UTF-8, longest first, so that
/// UTF-32 LE is not taken for UTF-16 LE.
const BOMS: [(&[u8], &str); 4] = [
    (b"\xFF\xFE\x00\x00", "UTF-32 little-endian"),
    (b"\x00\x00\xFE\xFF", "UTF-32 big-endian"),
    (b"\xFF\xFE", "UTF-16 little-endian"),
    (b"\xFE\xFF", "UTF-16 big-endian"),
];

/// `bytes` as UTF-8 text. A UTF-8 byte-order mark is dropped (editors hide it, so columns
/// then match what the user sees). A NUL byte is refused too: no text file holds one, and
/// the YAML reader would stop at it with a less helpful message.
pub fn decode(bytes: &[u8]) -> Result<String, NotUtf8> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if let Some(encoding) = wide_encoding(bytes) {
        return Err(NotUtf8 {
            what: encoding,
            offset: 0,
            line: 1,
            col: 1,
            prefix: String::new(),
        });
    }
    let (valid, bad) = match std::str::from_utf8(bytes) {
        Ok(text) => match text.find('\0') {
            None => return Ok(text.to_owned()),
            Some(at) => (&text[..at], "a NUL byte (binary data, not text)".to_owned()),
        },
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            // The first `valid_up_to` bytes are UTF-8 by definition.
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let byte = bytes.get(valid.len()).copied().unwrap_or_default();
            (
                valid,
                format!("byte 0x{byte:02X}, which is not UTF-8{}", guess(byte)),
            )
        }
    };
    let line = valid.matches('\n').count() + 1;
    let line_start = valid.rfind('\n').map_or(0, |at| at + 1);
    Err(NotUtf8 {
        what: bad,
        offset: valid.len(),
        line,
        col: valid[line_start..].chars().count() + 1,
        prefix: valid.to_owned(),
    })
}

/// UTF-16 or UTF-32, by byte-order mark or, without one, by where the NUL bytes of the first
/// ASCII character fall (the detection the YAML specification describes).
fn wide_encoding(bytes: &[u8]) -> Option<String> {
    if let Some((_, name)) = BOMS.iter().find(|(bom, _)| bytes.starts_with(bom)) {
        return Some(format!("{name} (by its byte-order mark)"));
    }
    let name = match bytes {
        [0, 0, 0, b, ..] if *b != 0 => "UTF-32 big-endian",
        [b, 0, 0, 0, ..] if *b != 0 => "UTF-32 little-endian",
        [0, b, ..] if *b != 0 => "UTF-16 big-endian",
        [b, 0, ..] if *b != 0 => "UTF-16 little-endian",
        _ => return None,
    };
    Some(format!("{name} (by its NUL bytes)"))
}

/// A hint at the encoding a stray byte suggests.
fn guess(byte: u8) -> &'static str {
    if byte >= 0xA0 {
        " (perhaps Latin-1 or Windows-1252)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(bytes: &[u8]) -> NotUtf8 {
        match decode(bytes) {
            Err(err) => err,
            Ok(text) => panic!("expected an error, got {text:?}"),
        }
    }

    #[test]
    fn utf8_passes_and_its_bom_is_dropped() {
        assert_eq!(decode(b"a: 1\n").unwrap(), "a: 1\n");
        assert_eq!(decode(b"\xEF\xBB\xBFa: \xC3\xA9\n").unwrap(), "a: é\n");
    }

    #[test]
    fn wide_encodings_are_named() {
        let utf16 = "a: 1\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<_>>();
        assert!(
            error(&utf16)
                .what
                .starts_with("UTF-16 little-endian (by its NUL")
        );
        let mut bom = vec![0xFF, 0xFE];
        bom.extend(&utf16);
        assert!(
            error(&bom)
                .what
                .starts_with("UTF-16 little-endian (by its byte")
        );
        assert!(error(b"\x00a\x00:").what.starts_with("UTF-16 big-endian"));
        assert!(
            error(b"\xFF\xFE\x00\x00a\x00\x00\x00")
                .what
                .starts_with("UTF-32 little")
        );
        assert!(
            error(b"\x00\x00\x00a")
                .what
                .starts_with("UTF-32 big-endian")
        );
    }

    #[test]
    fn the_first_bad_byte_is_located() {
        let err = error(b"kind: Cluster\nname: caf\xE9 x\n");
        assert_eq!((err.line, err.col, err.offset), (2, 10, 23));
        assert_eq!(
            err.what,
            "byte 0xE9, which is not UTF-8 (perhaps Latin-1 or Windows-1252)"
        );
        let err = error("a: é\nb: x\0y".as_bytes());
        assert_eq!((err.line, err.col), (2, 5));
        assert!(err.what.starts_with("a NUL byte"));
    }
}
