//! JSON output, byte by byte: a set of pushdown machines walking a `Schema`. A token is allowed
//! when at least one machine survives all its bytes, so the finished text always parses (and
//! matches the schema's supported keywords). Alternatives (`anyOf`, type lists) run as separate
//! machines; bounded whitespace keeps the model from padding forever.

use std::sync::Arc;

use super::schema::{Node, NodeId, Schema};
use crate::batch::TextConstraint;

/// Whitespace bytes allowed in a row between tokens (pretty-printed nesting needs some).
const MAX_WS: u8 = 24;
/// Digits and signs in one number.
const MAX_NUMBER: u8 = 32;
/// Alternatives tracked at once.
const MAX_MACHINES: usize = 64;
const ANY: NodeId = 0;

#[derive(Clone, Debug, PartialEq)]
enum ObjSt {
    Open,
    Key,
    Colon,
    After,
    NeedKey,
}

#[derive(Clone, Debug, PartialEq)]
enum ArrSt {
    Open,
    After,
    NeedValue,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Esc {
    No,
    Backslash,
    Hex(u8),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum NumSt {
    Start,
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
}

#[derive(Clone, Debug)]
enum Frame {
    Value(NodeId),
    /// `prop`: the declared property whose key is being read or whose value comes next.
    Obj { node: NodeId, seen: u64, st: ObjSt, key: Vec<u8>, prop: usize },
    Arr { node: NodeId, count: usize, st: ArrSt },
    Str { min: usize, max: Option<usize>, len: usize, esc: Esc },
    Num { integer: bool, st: NumSt, len: u8 },
    Lit { opts: Vec<Vec<u8>>, pos: usize },
}

#[derive(Clone, Debug)]
struct Machine {
    stack: Vec<Frame>,
    ws: u8,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

fn can_end(f: &Frame) -> bool {
    match f {
        Frame::Num { st, .. } => matches!(st, NumSt::Zero | NumSt::Int | NumSt::Frac | NumSt::Exp),
        Frame::Lit { opts, pos } => opts.iter().any(|o| o.len() == *pos),
        _ => false,
    }
}

/// Constrains generated text to JSON matching a schema.
#[derive(Clone, Debug)]
pub struct JsonConstraint {
    schema: Arc<Schema>,
    /// Key texts (JSON-escaped, no quotes) per object node, by property index.
    keys: Arc<Vec<Vec<Vec<u8>>>>,
    machines: Vec<Machine>,
}

impl JsonConstraint {
    pub fn new(schema: Schema) -> Self {
        let keys = schema
            .nodes
            .iter()
            .map(|n| match n {
                Node::Object { props, .. } => props
                    .iter()
                    .map(|(k, _)| {
                        let s = serde_json::to_string(k).expect("json string");
                        s.as_bytes()[1..s.len() - 1].to_vec()
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let root = schema.root;
        Self { schema: Arc::new(schema), keys: Arc::new(keys), machines: vec![Machine { stack: vec![Frame::Value(root)], ws: 0 }] }
    }

    fn feed_all(&self, machines: &[Machine], bytes: &[u8]) -> Vec<Machine> {
        let mut cur = machines.to_vec();
        for &b in bytes {
            let mut next = Vec::new();
            for m in cur {
                self.feed(m, b, &mut next);
            }
            next.truncate(MAX_MACHINES);
            if next.is_empty() {
                return next;
            }
            cur = next;
        }
        cur
    }

    fn node(&self, id: NodeId) -> &Node {
        &self.schema.nodes[id]
    }

    fn feed(&self, mut m: Machine, b: u8, out: &mut Vec<Machine>) {
        let Some(top) = m.stack.last_mut() else { return };
        let ws_ok = matches!(
            top,
            Frame::Value(_) | Frame::Obj { st: ObjSt::Open | ObjSt::Colon | ObjSt::After | ObjSt::NeedKey, .. } | Frame::Arr { .. }
        );
        if ws_ok && is_ws(b) {
            if m.ws < MAX_WS {
                m.ws += 1;
                out.push(m);
            }
            return;
        }
        if ws_ok {
            m.ws = 0;
        }
        match top {
            Frame::Value(node) => {
                let node = *node;
                m.stack.pop();
                self.start_value(m, node, b, out);
            }
            Frame::Str { min, max, len, esc } => {
                match *esc {
                    Esc::No => match b {
                        b'"' if *len >= *min => {
                            m.stack.pop();
                            self.completed_key(&mut m);
                            out.push(m);
                            return;
                        }
                        b'"' => return,
                        b'\\' => *esc = Esc::Backslash,
                        0..=0x1f => return,
                        _ => {
                            if b & 0xC0 != 0x80 {
                                *len += 1;
                            }
                        }
                    },
                    Esc::Backslash => match b {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                            *esc = Esc::No;
                            *len += 1;
                        }
                        b'u' => *esc = Esc::Hex(4),
                        _ => return,
                    },
                    Esc::Hex(k) => {
                        if !b.is_ascii_hexdigit() {
                            return;
                        }
                        *esc = if k == 1 { Esc::No } else { Esc::Hex(k - 1) };
                        if k == 1 {
                            *len += 1;
                        }
                    }
                }
                if max.is_some_and(|mx| *len > mx) {
                    return;
                }
                out.push(m);
            }
            Frame::Num { integer, st, len } => {
                let d = b.is_ascii_digit();
                let next = match (*st, b) {
                    (NumSt::Start, b'-') => Some(NumSt::Minus),
                    (NumSt::Start | NumSt::Minus, b'0') => Some(NumSt::Zero),
                    (NumSt::Start, _) if d => Some(NumSt::Int),
                    (NumSt::Minus, _) if d => Some(NumSt::Int),
                    (NumSt::Int, _) if d => Some(NumSt::Int),
                    (NumSt::Zero | NumSt::Int, b'.') if !*integer => Some(NumSt::Dot),
                    (NumSt::Zero | NumSt::Int | NumSt::Frac, b'e' | b'E') if !*integer => Some(NumSt::E),
                    (NumSt::Dot | NumSt::Frac, _) if d => Some(NumSt::Frac),
                    (NumSt::E, b'+' | b'-') => Some(NumSt::ESign),
                    (NumSt::E | NumSt::ESign | NumSt::Exp, _) if d => Some(NumSt::Exp),
                    _ => None,
                };
                match next {
                    Some(s) if *len < MAX_NUMBER => {
                        *st = s;
                        *len += 1;
                        out.push(m);
                    }
                    Some(_) => {}
                    None => self.end_and_refeed(m, b, out),
                }
            }
            Frame::Lit { opts, pos } => {
                let p = *pos;
                let alive: Vec<Vec<u8>> = opts.iter().filter(|o| o.get(p) == Some(&b)).cloned().collect();
                if alive.is_empty() {
                    self.end_and_refeed(m, b, out);
                    return;
                }
                let done = alive.iter().all(|o| o.len() == p + 1);
                *opts = alive;
                *pos = p + 1;
                if done {
                    m.stack.pop();
                }
                out.push(m);
            }
            Frame::Obj { .. } => self.feed_object(m, b, out),
            Frame::Arr { .. } => self.feed_array(m, b, out),
        }
    }

    /// A number or literal that may end here ends, and `b` goes to the frame below it.
    fn end_and_refeed(&self, mut m: Machine, b: u8, out: &mut Vec<Machine>) {
        if m.stack.last().is_some_and(can_end) {
            m.stack.pop();
            m.ws = 0;
            self.feed(m, b, out);
        }
    }

    /// A free-form key string just closed: its object now wants the colon.
    fn completed_key(&self, m: &mut Machine) {
        if let Some(Frame::Obj { st, .. }) = m.stack.last_mut() {
            if *st == ObjSt::Key {
                *st = ObjSt::Colon;
            }
        }
    }

    fn start_value(&self, mut m: Machine, node: NodeId, b: u8, out: &mut Vec<Machine>) {
        let lit = |opts: &[&[u8]]| Frame::Lit { opts: opts.iter().map(|o| o.to_vec()).collect(), pos: 0 };
        let frame = match (self.node(node), b) {
            (Node::OneOf(alts), _) => {
                for &a in alts {
                    self.start_value(m.clone(), a, b, out);
                }
                return;
            }
            (Node::Any | Node::Object { .. }, b'{') => Frame::Obj { node, seen: 0, st: ObjSt::Open, key: vec![], prop: 0 },
            (Node::Any | Node::Array { .. }, b'[') => Frame::Arr { node, count: 0, st: ArrSt::Open },
            (Node::Any, b'"') => Frame::Str { min: 0, max: None, len: 0, esc: Esc::No },
            (Node::Str { min, max }, b'"') => Frame::Str { min: *min, max: *max, len: 0, esc: Esc::No },
            (Node::Any, b'-' | b'0'..=b'9') => Frame::Num { integer: false, st: NumSt::Start, len: 0 },
            (Node::Number { integer }, b'-' | b'0'..=b'9') => Frame::Num { integer: *integer, st: NumSt::Start, len: 0 },
            (Node::Any, b't' | b'f' | b'n') => lit(&[b"true", b"false", b"null"]),
            (Node::Boolean, b't' | b'f') => lit(&[b"true", b"false"]),
            (Node::Null, b'n') => lit(&[b"null"]),
            (Node::Literals(opts), _) => Frame::Lit { opts: opts.clone(), pos: 0 },
            _ => return,
        };
        match frame {
            // Numbers and literals consume their first byte through the normal path.
            Frame::Num { .. } | Frame::Lit { .. } => {
                m.stack.push(frame);
                self.feed(m, b, out);
            }
            f => {
                m.stack.push(f);
                out.push(m);
            }
        }
    }

    fn object_parts(&self, node: NodeId) -> (&[(String, NodeId)], &[usize], Option<NodeId>) {
        match self.node(node) {
            Node::Object { props, required, extra } => (props, required, *extra),
            _ => (&[], &[], Some(ANY)),
        }
    }

    fn feed_object(&self, mut m: Machine, b: u8, out: &mut Vec<Machine>) {
        let Some(Frame::Obj { node, seen, st, key, prop }) = m.stack.last_mut() else { return };
        let node = *node;
        let (props, required, extra) = self.object_parts(node);
        let all_required = required.iter().all(|&i| *seen & (1 << i) != 0);
        let unseen_left = (0..props.len()).any(|i| *seen & (1 << i) == 0);
        let keys = &self.keys[node];
        match (st.clone(), b) {
            (ObjSt::Open, b'}') | (ObjSt::After, b'}') if all_required => {
                m.stack.pop();
                out.push(m);
            }
            (ObjSt::Open | ObjSt::NeedKey, b'"') => {
                *st = ObjSt::Key;
                key.clear();
                if props.is_empty() {
                    if extra.is_none() {
                        return;
                    }
                    m.stack.push(Frame::Str { min: 0, max: None, len: 0, esc: Esc::No });
                } else if !unseen_left {
                    return;
                }
                out.push(m);
            }
            (ObjSt::Key, b'"') => {
                let hit = (0..props.len()).find(|&i| *seen & (1 << i) == 0 && keys[i] == *key);
                if let Some(i) = hit {
                    *prop = i;
                    *seen |= 1 << i;
                    *st = ObjSt::Colon;
                    out.push(m);
                }
            }
            (ObjSt::Key, _) => {
                key.push(b);
                if (0..props.len()).any(|i| *seen & (1 << i) == 0 && keys[i].starts_with(key)) {
                    out.push(m);
                }
            }
            (ObjSt::Colon, b':') => {
                let value = if props.is_empty() { extra.unwrap_or(ANY) } else { props[*prop].1 };
                *st = ObjSt::After;
                m.stack.push(Frame::Value(value));
                out.push(m);
            }
            (ObjSt::After, b',') if unseen_left || (props.is_empty() && extra.is_some()) => {
                *st = ObjSt::NeedKey;
                out.push(m);
            }
            _ => {}
        }
    }

    fn feed_array(&self, mut m: Machine, b: u8, out: &mut Vec<Machine>) {
        let Some(Frame::Arr { node, count, st }) = m.stack.last_mut() else { return };
        let (items, min, max) = match self.node(*node) {
            Node::Array { items, min, max } => (*items, *min, *max),
            _ => (ANY, 0, None),
        };
        match (st.clone(), b) {
            (ArrSt::Open | ArrSt::After, b']') if *count >= min => {
                m.stack.pop();
                out.push(m);
            }
            (ArrSt::After, b',') if max.map_or(true, |mx| *count < mx) => {
                *st = ArrSt::NeedValue;
                out.push(m);
            }
            (ArrSt::Open | ArrSt::NeedValue, _) if max.map_or(true, |mx| *count < mx) => {
                *st = ArrSt::After;
                *count += 1;
                m.stack.push(Frame::Value(items));
                self.feed(m, b, out);
            }
            _ => {}
        }
    }
}

impl TextConstraint for JsonConstraint {
    fn allows(&self, piece: &[u8]) -> bool {
        !piece.is_empty() && !self.feed_all(&self.machines, piece).is_empty()
    }

    fn accept(&mut self, piece: &[u8]) {
        let next = self.feed_all(&self.machines, piece);
        if !next.is_empty() {
            self.machines = next;
        }
    }

    fn is_complete(&self) -> bool {
        self.machines.iter().any(|m| m.stack.is_empty() || (m.stack.len() == 1 && can_end(&m.stack[0])))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn accepts(schema: &Schema, text: &str) -> bool {
        let mut c = JsonConstraint::new(schema.clone());
        for b in text.as_bytes() {
            if !c.allows(&[*b]) {
                return false;
            }
            c.accept(&[*b]);
        }
        c.is_complete()
    }

    #[test]
    fn any_object_accepts_valid_json_objects_only() {
        let s = Schema::any_object();
        for ok in [r#"{}"#, r#"{"a": 1}"#, "{\n  \"a\": [1, 2.5e-3, true, null, \"x\\n\\u00e9\"],\n  \"b\": {\"c\": false}\n}", r#"{"k":-0.5}"#] {
            assert!(accepts(&s, ok), "{ok}");
        }
        for bad in [r#"[]"#, r#"{"a" 1}"#, r#"{"a": 01}"#, r#"{"a": tru}"#, r#"{"a": 1,}"#, r#"{"a": 1"#, r#"{} x"#, r#""x""#] {
            assert!(!accepts(&s, bad), "{bad}");
        }
    }

    #[test]
    fn schema_restricts_keys_types_and_required() {
        let schema = Schema::compile(&json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 5},
                "age": {"type": "integer"},
                "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
                "pet": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Pet"}]}
            },
            "required": ["name", "age"],
            "$defs": {"Pet": {"type": "object", "properties": {"kind": {"const": "cat"}}, "required": ["kind"]}}
        }))
        .unwrap();
        for ok in [
            r#"{"name": "Bo", "age": 3}"#,
            r#"{"age": -12, "name": "", "tags": ["a", "b"], "pet": null}"#,
            r#"{"name": "x", "age": 0, "pet": {"kind": "cat"}}"#,
        ] {
            assert!(accepts(&schema, ok), "{ok}");
        }
        for bad in [
            r#"{"name": "Bo"}"#,
            r#"{"name": "Bo", "age": 3.5}"#,
            r#"{"name": "toolong", "age": 3}"#,
            r#"{"name": "Bo", "age": 3, "extra": 1}"#,
            r#"{"name": "Bo", "name": "Al", "age": 3}"#,
            r#"{"name": "Bo", "age": 3, "tags": ["a", "b", "a"]}"#,
            r#"{"name": "Bo", "age": 3, "tags": ["c"]}"#,
            r#"{"name": "Bo", "age": 3, "pet": {"kind": "dog"}}"#,
        ] {
            assert!(!accepts(&schema, bad), "{bad}");
        }
    }

    #[test]
    fn multi_byte_tokens_and_completion() {
        let mut c = JsonConstraint::new(Schema::compile(&json!({"type": "object", "properties": {"n": {"type": "number"}}, "required": ["n"]})).unwrap());
        assert!(c.allows(b"{\"n\": 1"));
        assert!(!c.allows(b"{\"m\""));
        c.accept(b"{\"n\": 12");
        assert!(!c.is_complete());
        assert!(c.allows(b"}"));
        c.accept(b"}");
        assert!(c.is_complete());
        assert!(!c.allows(b" "), "nothing may follow a complete document");
    }

    #[test]
    fn recursive_refs_compile() {
        let s = Schema::compile(&json!({"$ref": "#/$defs/T", "$defs": {"T": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/T"}}}}}})).unwrap();
        assert!(accepts(&s, r#"{"kids": [{"kids": []}, {}]}"#));
        assert!(!accepts(&s, r#"{"kids": [1]}"#));
    }
}
