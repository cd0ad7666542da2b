//! Built-in chat templates for models whose file carries none.
//!
//! Each one writes the turn format its model family was trained on; they are used only when the
//! model has no `tokenizer.chat_template` of its own.

/// Gemma (1, 2, 3): `<start_of_turn>user\n...<end_of_turn>\n`, assistant turns are "model";
/// Gemma has no system role, so a system message is prepended to the first user turn.
pub const GEMMA: &str = r#"{{- bos_token -}}
{%- set has_system = messages | length > 0 and messages[0].role == "system" -%}
{%- set turns = messages[1:] if has_system else messages -%}
{%- for m in turns -%}
  {%- if (m.role == "user") != (loop.index0 % 2 == 0) -%}
    {{- raise_exception("Gemma chats must alternate user and assistant turns, starting with user") -}}
  {%- endif -%}
  {{- "<start_of_turn>" ~ ("model" if m.role == "assistant" else m.role) ~ "\n" -}}
  {%- if loop.first and has_system -%}{{- (messages[0].content | trim) ~ "\n\n" -}}{%- endif -%}
  {{- (m.content | trim) ~ "<end_of_turn>\n" -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- "<start_of_turn>model\n" -}}{%- endif -%}
"#;

/// Llama 3: header-delimited turns ending in `<|eot_id|>`.
pub const LLAMA3: &str = r#"{{- bos_token -}}
{%- for m in messages -%}
  {{- "<|start_header_id|>" ~ m.role ~ "<|end_header_id|>\n\n" ~ (m.content | trim) ~ "<|eot_id|>" -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- "<|start_header_id|>assistant<|end_header_id|>\n\n" -}}{%- endif -%}
"#;

/// ChatML (Qwen 2 / 3): `<|im_start|>role\n...<|im_end|>\n`; no BOS.
pub const CHATML: &str = r#"{%- for m in messages -%}
  {{- "<|im_start|>" ~ m.role ~ "\n" ~ m.content ~ "<|im_end|>\n" -}}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- "<|im_start|>assistant\n" -}}{%- endif -%}
"#;

/// The built-in template for a GGUF `general.architecture`.
pub fn for_architecture(arch: &str) -> Option<&'static str> {
    if arch.starts_with("gemma") {
        Some(GEMMA)
    } else if arch == "llama" {
        Some(LLAMA3)
    } else if arch.starts_with("qwen") {
        Some(CHATML)
    } else {
        None
    }
}
