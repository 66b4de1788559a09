//! serde_json's pretty layout (two spaces per level), with each line break and its
//! indentation written at once: `PrettyFormatter` writes the indentation one level at a time,
//! which was a tenth of writing a large JSON report. The bytes are the same (tested).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// The levels a break is written for in one piece; deeper ones are written in pieces.
const LEVELS: usize = 32;

/// `,` then a line break then the indentation of [`LEVELS`] levels.
const BREAK: [u8; 2 + 2 * LEVELS] = {
    let mut b = [b' '; 2 + 2 * LEVELS];
    b[0] = b',';
    b[1] = b'\n';
    b
};

/// serde_json's `PrettyFormatter` with an indent of two spaces.
#[derive(Default)]
pub struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    /// A line break (after a comma unless `first`) and the current indentation.
    fn line<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        let from = usize::from(first);
        if self.level <= LEVELS {
            return w.write_all(&BREAK[from..2 + 2 * self.level]);
        }
        w.write_all(&BREAK[from..2])?;
        for _ in 0..self.level {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn end<W: ?Sized + Write>(&mut self, w: &mut W, close: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.line(w, true)?;
        }
        w.write_all(close)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.line(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.end(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.line(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// A serializer writing `w` in the pretty layout.
pub fn serializer<W: Write>(w: W) -> serde_json::Serializer<W, Pretty> {
    serde_json::Serializer::with_formatter(w, Pretty::default())
}

/// A serializer writing `w` in the pretty layout for a value `level` levels deep (a value of
/// the root object is one level deep): its lines are indented as they would be in place.
pub fn serializer_at<W: Write>(w: W, level: usize) -> serde_json::Serializer<W, Pretty> {
    serde_json::Serializer::with_formatter(
        w,
        Pretty {
            level,
            has_value: false,
        },
    )
}

/// `serde_json::to_writer_pretty` with [`Pretty`].
pub fn to_writer<W: Write, T: ?Sized + Serialize>(w: W, value: &T) -> serde_json::Result<()> {
    value.serialize(&mut serializer(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Empty and nested arrays and objects, strings that need escaping, and nesting deeper
    /// than the levels written at once: the same bytes as serde_json's pretty printer.
    #[test]
    fn the_layout_is_serde_json_pretty() {
        let mut deep = json!("leaf");
        for i in 0..(LEVELS + 5) {
            deep = if i % 2 == 0 {
                json!([deep, 1, {}])
            } else {
                json!({ "k": deep, "e": [], "s": "a\"b\\\n\u{1}é" })
            };
        }
        let values = [
            json!(null),
            json!([]),
            json!({}),
            json!([[]]),
            json!({"a": {}, "b": [[], [1, 2.5, -3]], "c": {"d": {"e": [true, false, null]}}}),
            deep,
        ];
        for v in values {
            let mut ours = Vec::new();
            to_writer(&mut ours, &v).unwrap();
            let theirs = serde_json::to_vec_pretty(&v).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap()
            );
        }
    }
}
