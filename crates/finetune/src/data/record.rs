//! One JSONL line -> a typed record. The first line fixes the file's format; every later line must
//! use the same one.

use serde::Deserialize;
use tokenize::chat::ChatMessage;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"text": ...}`: loss on every token.
    Text,
    /// `{"prompt": ..., "completion": ...}`: loss on the completion only.
    PromptCompletion,
    /// `{"messages": [{"role", "content"}, ...]}`: loss on assistant turns only.
    Messages,
}

impl Format {
    pub fn describe(self) -> &'static str {
        match self {
            Format::Text => r#"{"text": "..."}"#,
            Format::PromptCompletion => r#"{"prompt": "...", "completion": "..."}"#,
            Format::Messages => r#"{"messages": [{"role": "user", "content": "..."}, ...]}"#,
        }
    }
}

pub enum Record {
    Text(String),
    PromptCompletion { prompt: String, completion: String },
    Messages(Vec<ChatMessage>),
}

#[derive(Deserialize)]
struct Msg {
    role: String,
    content: String,
}

const EXPECTED: &str = r#"expected one JSON object per line with "text", "prompt" + "completion", or "messages""#;

/// Parses one line. `format` is the file's format once known (`None` for the first record).
pub fn parse(line: &str, format: Option<Format>) -> Result<Record, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON ({e}); {EXPECTED}"))?;
    let obj = v.as_object().ok_or_else(|| format!("a JSON {} is not an object; {EXPECTED}", kind(&v)))?;
    let found = if obj.contains_key("messages") {
        Format::Messages
    } else if obj.contains_key("prompt") || obj.contains_key("completion") {
        Format::PromptCompletion
    } else if obj.contains_key("text") {
        Format::Text
    } else {
        let keys: Vec<&str> = obj.keys().map(|k| k.as_str()).collect();
        return Err(format!("has keys {keys:?}; {EXPECTED}"));
    };
    if let Some(f) = format.filter(|&f| f != found) {
        return Err(format!("is {} but earlier lines are {}; use one format per file", found.describe(), f.describe()));
    }
    let string = |key: &str| -> Result<String, String> {
        match obj.get(key) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!("\"{key}\" is a JSON {}, expected a string", kind(other))),
            None => Err(format!("\"{key}\" is missing; expected {}", found.describe())),
        }
    };
    Ok(match found {
        Format::Text => Record::Text(string("text")?),
        Format::PromptCompletion => Record::PromptCompletion { prompt: string("prompt")?, completion: string("completion")? },
        Format::Messages => {
            let msgs: Vec<Msg> = serde_json::from_value(obj["messages"].clone()).map_err(|e| {
                format!("\"messages\" must be a list of {{\"role\": string, \"content\": string}} ({e})")
            })?;
            if msgs.is_empty() {
                return Err("\"messages\" is empty".into());
            }
            if !msgs.iter().any(|m| m.role == "assistant") {
                return Err("\"messages\" has no assistant turn, so nothing to learn from".into());
            }
            Record::Messages(msgs.into_iter().map(|m| ChatMessage::new(m.role, m.content)).collect())
        }
    })
}

impl Record {
    pub fn format(&self) -> Format {
        match self {
            Record::Text(_) => Format::Text,
            Record::PromptCompletion { .. } => Format::PromptCompletion,
            Record::Messages(_) => Format::Messages,
        }
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}
