//! Chat templates: a list of messages -> the prompt text the model was trained on.
//!
//! Templates are the Jinja sources shipped with models (`tokenizer.chat_template`), rendered by
//! minijinja configured as Hugging Face `transformers` configures Jinja: `trim_blocks` and
//! `lstrip_blocks` on, `raise_exception` and `strftime_now` defined, Python string methods
//! (`.strip()`, `.startswith()`...) available through minijinja-contrib's pycompat.

mod builtin;
mod time;

use minijinja::{Environment, Error, ErrorKind, Value};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TokenizeError};

pub use builtin::for_architecture as builtin_template_source;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

const NAME: &str = "chat";

pub struct ChatTemplate {
    source: String,
    env: Environment<'static>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("source", &self.source)
            .finish()
    }
}

fn template_error(e: Error) -> TokenizeError {
    // `{:#}` adds the template line the error points at.
    TokenizeError::Template(format!("{e:#}"))
}

fn raise_exception(msg: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, msg))
}

impl ChatTemplate {
    /// Compiles a Jinja chat template; syntax errors are reported here, not at render time.
    pub fn new(source: impl Into<String>) -> Result<Self> {
        let source = source.into();
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", time::strftime_now);
        env.add_template_owned(NAME, source.clone())
            .map_err(template_error)?;
        Ok(Self { source, env })
    }

    /// The built-in template for a GGUF `general.architecture` (gemma*, llama, qwen*).
    pub fn builtin(arch: &str) -> Option<Self> {
        // The built-in sources are tested to compile.
        builtin::for_architecture(arch).and_then(|s| Self::new(s).ok())
    }

    /// The model's own template when it has one, else the built-in one for its architecture.
    pub fn from_source_or_default(source: Option<&str>, arch: &str) -> Result<Self> {
        match source {
            Some(s) if !s.trim().is_empty() => Self::new(s),
            _ => Self::builtin(arch).ok_or_else(|| TokenizeError::NoChatTemplate(arch.to_string())),
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders `messages`; `add_generation_prompt` appends the opening of the assistant's turn.
    /// `bos_token`/`eos_token` are the texts templates insert (e.g. "<bos>").
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
        bos_token: &str,
        eos_token: &str,
    ) -> Result<String> {
        let tmpl = self.env.get_template(NAME).map_err(template_error)?;
        tmpl.render(minijinja::context! {
            messages => messages,
            add_generation_prompt => add_generation_prompt,
            bos_token => bos_token,
            eos_token => eos_token,
            // transformers passes these as None when unused; templates test `tools is not none`.
            tools => Value::from(()),
            documents => Value::from(()),
        })
        .map_err(template_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_compile() {
        for arch in ["gemma3", "llama", "qwen2"] {
            assert!(ChatTemplate::builtin(arch).is_some(), "{arch}");
        }
    }

    #[test]
    fn gemma_folds_system_into_first_user_turn() {
        let t = ChatTemplate::builtin("gemma3").unwrap();
        let msgs = [
            ChatMessage::system("Be brief."),
            ChatMessage::user(" Hi "),
            ChatMessage::assistant("Hello!"),
        ];
        let s = t.render(&msgs, false, "<bos>", "<eos>").unwrap();
        assert_eq!(s, "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n");
    }

    #[test]
    fn gemma_rejects_two_user_turns_in_a_row() {
        let t = ChatTemplate::builtin("gemma3").unwrap();
        let err = t
            .render(
                &[ChatMessage::user("a"), ChatMessage::user("b")],
                true,
                "<bos>",
                "",
            )
            .unwrap_err();
        assert!(err.to_string().contains("alternate"), "{err}");
    }

    #[test]
    fn llama3_template() {
        let t = ChatTemplate::builtin("llama").unwrap();
        let s = t
            .render(&[ChatMessage::user("Hi")], true, "<|begin_of_text|>", "")
            .unwrap();
        assert_eq!(
            s,
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        );
    }

    #[test]
    fn hf_style_template_features() {
        // namespace, loop, pycompat string methods, trim_blocks/lstrip_blocks, tojson, slicing.
        let src = r#"{% set ns = namespace(n=0) %}
{% for m in messages[0:] %}
    {% if m.content.strip().startswith('!') %}{% set ns.n = ns.n + 1 %}{% endif %}
{{ loop.index }}:{{ m.role | upper }}:{{ m.content.strip() }}|
{% endfor %}
{{ ns.n }} {{ messages[0] | tojson }}{% if tools is not none %}tools{% endif %}"#;
        let t = ChatTemplate::new(src).unwrap();
        let s = t
            .render(
                &[ChatMessage::user(" !a "), ChatMessage::assistant("b")],
                false,
                "",
                "",
            )
            .unwrap();
        assert_eq!(
            s,
            "1:USER:!a|\n2:ASSISTANT:b|\n1 {\"role\":\"user\",\"content\":\" !a \"}"
        );
    }

    #[test]
    fn syntax_errors_surface_at_compile_time() {
        let err = ChatTemplate::new("{% for m in messages %}").unwrap_err();
        assert!(matches!(err, TokenizeError::Template(_)));
    }

    #[test]
    fn missing_template_and_unknown_arch_is_an_error() {
        let err = ChatTemplate::from_source_or_default(None, "mamba").unwrap_err();
        assert!(err.to_string().contains("mamba"), "{err}");
    }
}
