//! JSON Schema -> a small grammar the JSON constraint walks. Supported: `type` (one or a list),
//! `properties`, `required`, `additionalProperties`, `items`, `minItems`, `maxItems`, `enum`,
//! `const`, `anyOf`/`oneOf`, `minLength`/`maxLength`, local `$ref` (`#/$defs/..`,
//! `#/definitions/..`, recursive ones included). Objects with `properties` get only those keys
//! (as OpenAI's strict mode does). Other keywords (`pattern`, `format`, ...) are not enforced.

use std::collections::HashMap;

use serde_json::Value;

pub type NodeId = usize;

#[derive(Clone, Debug)]
pub enum Node {
    /// Any JSON value.
    Any,
    /// `props` in declaration order; `required` indexes into `props`; `extra`: schema of keys
    /// not in `props` (None = none allowed).
    Object { props: Vec<(String, NodeId)>, required: Vec<usize>, extra: Option<NodeId> },
    Array { items: NodeId, min: usize, max: Option<usize> },
    Str { min: usize, max: Option<usize> },
    Number { integer: bool },
    Boolean,
    Null,
    /// Exactly one of these JSON texts (enum / const), compact form.
    Literals(Vec<Vec<u8>>),
    OneOf(Vec<NodeId>),
}

#[derive(Clone, Debug)]
pub struct Schema {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("JSON schema: {0}")]
    Invalid(String),
}

impl Schema {
    /// `response_format: {"type": "json_object"}`: any JSON object.
    pub fn any_object() -> Schema {
        Schema { nodes: vec![Node::Any, Node::Object { props: vec![], required: vec![], extra: Some(0) }], root: 1 }
    }

    pub fn compile(schema: &Value) -> Result<Schema, SchemaError> {
        let mut b = Builder { nodes: vec![Node::Any], refs: HashMap::new(), doc: schema };
        let root = b.node(schema, 0)?;
        Ok(Schema { nodes: b.nodes, root })
    }
}

struct Builder<'a> {
    nodes: Vec<Node>,
    refs: HashMap<String, NodeId>,
    doc: &'a Value,
}

const ANY: NodeId = 0;
const MAX_DEPTH: usize = 64;

fn bad(msg: impl Into<String>) -> SchemaError {
    SchemaError::Invalid(msg.into())
}

impl Builder<'_> {
    fn push(&mut self, n: Node) -> NodeId {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn node(&mut self, s: &Value, depth: usize) -> Result<NodeId, SchemaError> {
        if depth > MAX_DEPTH {
            return Err(bad("nested too deeply"));
        }
        let obj = match s {
            Value::Bool(true) => return Ok(ANY),
            Value::Bool(false) => return Err(bad("a `false` schema allows nothing")),
            Value::Object(o) => o,
            _ => return Err(bad(format!("expected a schema object, got {s}"))),
        };
        if let Some(r) = obj.get("$ref") {
            return self.reference(r.as_str().ok_or_else(|| bad("$ref must be a string"))?, depth);
        }
        if let Some(c) = obj.get("const") {
            return Ok(self.push(Node::Literals(vec![serde_json::to_vec(c).expect("json")])));
        }
        if let Some(e) = obj.get("enum") {
            let vals = e.as_array().ok_or_else(|| bad("enum must be an array"))?;
            if vals.is_empty() {
                return Err(bad("enum is empty"));
            }
            return Ok(self.push(Node::Literals(vals.iter().map(|v| serde_json::to_vec(v).expect("json")).collect())));
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = obj.get(key) {
                let alts = alts.as_array().ok_or_else(|| bad(format!("{key} must be an array")))?;
                let ids = alts.iter().map(|a| self.node(a, depth + 1)).collect::<Result<Vec<_>, _>>()?;
                return Ok(self.push(Node::OneOf(ids)));
            }
        }
        match obj.get("type") {
            None if obj.contains_key("properties") => self.typed("object", obj, depth),
            None => Ok(ANY),
            Some(Value::String(t)) => self.typed(t, obj, depth),
            Some(Value::Array(ts)) => {
                let ids = ts
                    .iter()
                    .map(|t| self.typed(t.as_str().ok_or_else(|| bad("type entries must be strings"))?, obj, depth))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(self.push(Node::OneOf(ids)))
            }
            Some(t) => Err(bad(format!("type must be a string or a list, got {t}"))),
        }
    }

    fn typed(&mut self, t: &str, obj: &serde_json::Map<String, Value>, depth: usize) -> Result<NodeId, SchemaError> {
        let uint = |k: &str| obj.get(k).and_then(Value::as_u64).map(|v| v as usize);
        Ok(match t {
            "string" => self.push(Node::Str { min: uint("minLength").unwrap_or(0), max: uint("maxLength") }),
            "number" => self.push(Node::Number { integer: false }),
            "integer" => self.push(Node::Number { integer: true }),
            "boolean" => self.push(Node::Boolean),
            "null" => self.push(Node::Null),
            "array" => {
                let items = match obj.get("items") {
                    Some(i) => self.node(i, depth + 1)?,
                    None => ANY,
                };
                let (min, max) = (uint("minItems").unwrap_or(0), uint("maxItems"));
                if max.is_some_and(|m| m < min) {
                    return Err(bad("maxItems is below minItems"));
                }
                self.push(Node::Array { items, min, max })
            }
            "object" => {
                let mut props = Vec::new();
                if let Some(p) = obj.get("properties") {
                    let p = p.as_object().ok_or_else(|| bad("properties must be an object"))?;
                    for (name, sub) in p {
                        let id = self.node(sub, depth + 1)?;
                        props.push((name.clone(), id));
                    }
                }
                if props.len() > 64 {
                    return Err(bad("more than 64 properties in one object"));
                }
                let mut required = Vec::new();
                if let Some(r) = obj.get("required") {
                    for name in r.as_array().ok_or_else(|| bad("required must be an array"))? {
                        let name = name.as_str().ok_or_else(|| bad("required entries must be strings"))?;
                        let i = props.iter().position(|(n, _)| n == name).ok_or_else(|| bad(format!("required property '{name}' is not in properties")))?;
                        required.push(i);
                    }
                }
                let extra = match obj.get("additionalProperties") {
                    _ if props.is_empty() && !obj.contains_key("additionalProperties") => Some(ANY),
                    Some(Value::Bool(true)) => Some(ANY),
                    Some(s @ Value::Object(_)) => Some(self.node(s, depth + 1)?),
                    _ => None,
                };
                self.push(Node::Object { props, required, extra })
            }
            other => return Err(bad(format!("unknown type '{other}'"))),
        })
    }

    fn reference(&mut self, r: &str, depth: usize) -> Result<NodeId, SchemaError> {
        if let Some(&id) = self.refs.get(r) {
            return Ok(id);
        }
        let path = r.strip_prefix("#/").ok_or_else(|| bad(format!("only local $ref ('#/...') is supported, got '{r}'")))?;
        let mut target = self.doc;
        for part in path.split('/') {
            target = target.get(part).ok_or_else(|| bad(format!("$ref '{r}' points nowhere")))?;
        }
        // Reserve the id first so a recursive reference resolves to this node.
        let id = self.push(Node::Any);
        self.refs.insert(r.to_string(), id);
        let built = self.node(target, depth + 1)?;
        self.nodes[id] = Node::OneOf(vec![built]);
        Ok(id)
    }
}
