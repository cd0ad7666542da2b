//! Writes F32 tensors as a `.safetensors` file: an 8-byte little-endian header length, a JSON header
//! (dtype, row-major shape, data offsets relative to the data section; padded with spaces to a
//! multiple of 8 so the data stays aligned), then the raw little-endian data in header order.
//! The file appears atomically (temp file in the same folder, then rename).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{Result, WeightsError};

/// One tensor to write: its name, row-major shape and values.
pub struct F32Tensor<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub data: &'a [f32],
}

/// The bytes of a safetensors file holding `tensors` (in the given order) and `metadata`
/// (`__metadata__`, string to string; PEFT writes `{"format": "pt"}`).
pub fn to_bytes(tensors: &[F32Tensor], metadata: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::to_value(metadata).expect("strings serialize"));
    }
    let mut offset = 0usize;
    for t in tensors {
        let n: usize = t.shape.iter().product();
        if n != t.data.len() {
            return Err(WeightsError::Corrupt(format!(
                "safetensors writer: tensor '{}' has shape {:?} ({n} values) but {} values were given",
                t.name,
                t.shape,
                t.data.len()
            )));
        }
        if t.name == "__metadata__" || header.contains_key(t.name) {
            return Err(WeightsError::Corrupt(format!("safetensors writer: tensor name '{}' is reserved or repeated", t.name)));
        }
        let end = offset + 4 * n;
        header.insert(
            t.name.to_string(),
            serde_json::json!({ "dtype": "F32", "shape": t.shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut json = serde_json::to_vec(&header).expect("JSON values serialize");
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for t in tensors {
        for x in t.data {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    Ok(out)
}

/// Writes `tensors` to `path` atomically.
pub fn write_f32(path: &Path, tensors: &[F32Tensor], metadata: &BTreeMap<String, String>) -> Result<()> {
    let bytes = to_bytes(tensors, metadata)?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to a temp file beside `path`, syncs it, then renames it over `path` (the GGUF
/// writer's atomic write; nothing appears at `path` on failure).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::gguf::write_atomic(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SafetensorsFile;

    #[test]
    fn round_trips_through_the_reader() {
        let a: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.0).collect();
        let b = [3.25f32];
        let tensors = [
            F32Tensor { name: "x.lora_A.weight", shape: &[2, 3], data: &a },
            F32Tensor { name: "y", shape: &[1], data: &b },
        ];
        let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
        let bytes = to_bytes(&tensors, &meta).unwrap();
        let hlen = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(hlen % 8, 0, "header padded to 8 bytes");
        let st = SafetensorsFile::from_bytes(bytes).unwrap();
        assert_eq!(st.names(), ["x.lora_A.weight", "y"]);
        assert_eq!(st.hf_shape("x.lora_A.weight"), Some(&[2usize, 3][..]));
        assert_eq!(st.dtype_name("y").as_deref(), Some("F32"));
        let t = st.tensor("x.lora_A.weight").unwrap();
        let got: Vec<f32> = t.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(got, a);
    }

    #[test]
    fn refuses_a_shape_that_does_not_match_the_data() {
        let t = [F32Tensor { name: "x", shape: &[2, 2], data: &[1.0, 2.0, 3.0] }];
        let e = to_bytes(&t, &BTreeMap::new()).unwrap_err().to_string();
        assert!(e.contains("'x'") && e.contains("[2, 2]"), "{e}");
    }
}
