//! llama.cpp's importance-matrix files, both layouts, read and written.
//!
//! - Legacy `.dat` (all little-endian): `i32 n_entries`, then per entry `i32 name_len, name bytes,
//!   i32 ncall, i32 nval, f32 values[nval]` with `values = sum_sq / count * ncall`, then optionally
//!   `i32 chunk_count, i32 dataset_len, dataset bytes`.
//! - GGUF (llama-imatrix's default since mid 2025): `general.type = "imatrix"`, `imatrix.datasets`
//!   (string array), `imatrix.chunk_count`, `imatrix.chunk_size` (u32), and per entry two F32 tensors,
//!   `<name>.in_sum2` `[n_cols, n_mat]` (raw sums of squares) and `<name>.counts` `[1, n_mat]`.
//!
//! `n_mat` is 1 for a plain matrix and the expert count for stacked MoE experts. The legacy layout keeps
//! only one count per entry, so reading it back loses the per-expert counts (as in llama.cpp).

use std::collections::BTreeMap;
use std::path::Path;

use kernels::GgmlType;
use weights::{GgufFile, GgufWriter, MetaValue};

use crate::error::{QuantizeError, Result};

/// Accumulated statistics of one weight matrix (or one stack of experts).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// `[n_mat, n_cols]`: per matrix and input column, the sum of squared activations (GGUF) or, for a
    /// legacy file, `sum / count * ncall`.
    pub sums: Vec<f32>,
    /// `[n_mat]`: activations (tokens) seen by each matrix (GGUF), or `[ncall]` for a legacy file.
    pub counts: Vec<u64>,
}

impl Entry {
    pub fn n_mat(&self) -> usize {
        self.counts.len().max(1)
    }

    pub fn n_cols(&self) -> usize {
        self.sums.len() / self.n_mat()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The original `.dat` layout.
    Dat,
    Gguf,
}

impl Format {
    /// GGUF when the path ends in `.gguf`, else the legacy layout (what `-o imatrix.dat` suggests).
    pub fn for_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("gguf") => Format::Gguf,
            _ => Format::Dat,
        }
    }
}

/// An importance matrix as stored in a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Imatrix {
    pub entries: BTreeMap<String, Entry>,
    pub datasets: Vec<String>,
    /// Chunks of `chunk_size` tokens the statistics were collected over.
    pub chunk_count: u32,
    /// Tokens per chunk (0 when unknown: legacy files do not store it).
    pub chunk_size: u32,
    pub format: Format,
}

const GGUF_MAGIC: &[u8; 4] = b"GGUF";

fn bad(path: &Path, what: impl std::fmt::Display) -> QuantizeError {
    QuantizeError::Imatrix(format!("importance matrix {}: {what}", path.display()))
}

impl Imatrix {
    /// Reads either layout (GGUF is recognised by its magic, as llama.cpp does).
    pub fn read(path: &Path) -> Result<Imatrix> {
        let bytes = std::fs::read(path).map_err(|e| bad(path, format!("cannot read the importance matrix: {e}")))?;
        let m = if bytes.starts_with(GGUF_MAGIC) { Self::read_gguf(path)? } else { Self::parse_dat(path, &bytes)? };
        if m.entries.is_empty() {
            return Err(bad(path, "the importance matrix has no entries"));
        }
        Ok(m)
    }

    fn parse_dat(path: &Path, b: &[u8]) -> Result<Imatrix> {
        let mut r = Reader { b, pos: 0 };
        let hint = "not an importance matrix (llama-imatrix .dat or .gguf), or it is truncated";
        let n = r.i32().ok_or_else(|| bad(path, hint))?;
        if n < 1 {
            return Err(bad(path, format!("{hint}: it declares {n} entries")));
        }
        let mut entries = BTreeMap::new();
        for i in 0..n {
            let at = |what: &str| bad(path, format!("entry {} of {n}: {what}; {hint}", i + 1));
            let len = r.i32().filter(|&l| l > 0).ok_or_else(|| at("bad name length"))? as usize;
            let name = r.bytes(len).ok_or_else(|| at("name cut short"))?;
            let name = std::str::from_utf8(name).map_err(|_| at("name is not UTF-8"))?.to_string();
            let ncall = r.i32().ok_or_else(|| at("cut short"))?;
            let nval = r.i32().filter(|&v| v > 0).ok_or_else(|| at("bad value count"))? as usize;
            let raw = r.bytes(nval.checked_mul(4).ok_or_else(|| at("bad value count"))?).ok_or_else(|| at("values cut short"))?;
            let sums = raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            entries.insert(name, Entry { sums, counts: vec![ncall.max(0) as u64] });
        }
        // The trailer (chunk count, dataset name) is optional.
        let mut m = Imatrix { entries, datasets: Vec::new(), chunk_count: 0, chunk_size: 0, format: Format::Dat };
        if let Some(chunks) = r.i32() {
            m.chunk_count = chunks.max(0) as u32;
            if let Some(len) = r.i32().filter(|&l| l > 0) {
                if let Some(name) = r.bytes(len as usize) {
                    m.datasets.push(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
        Ok(m)
    }

    fn read_gguf(path: &Path) -> Result<Imatrix> {
        let g = GgufFile::open(path)?;
        let md = g.metadata();
        let datasets = md.get_str_array("imatrix.datasets").map(|a| a.to_vec()).ok();
        let chunk_count = md.opt_u32("imatrix.chunk_count");
        let chunk_size = md.opt_u32("imatrix.chunk_size");
        let (Some(datasets), Some(chunk_count), Some(chunk_size)) = (datasets, chunk_count, chunk_size) else {
            return Err(bad(path, "GGUF file without imatrix.datasets/chunk_count/chunk_size; not an importance matrix"));
        };
        // entry name -> (.in_sum2, .counts)
        type Parts = BTreeMap<String, (Option<Vec<f32>>, Option<Vec<f32>>)>;
        let mut parts = Parts::new();
        for t in g.tensors() {
            let (base, is_sum) = if let Some(b) = t.name.strip_suffix(".in_sum2") {
                (b, true)
            } else if let Some(b) = t.name.strip_suffix(".counts") {
                (b, false)
            } else {
                continue;
            };
            if t.ty != GgmlType::F32 {
                return Err(bad(path, format!("tensor '{}' is {}, an importance matrix holds F32", t.name, t.ty.name())));
            }
            let v: Vec<f32> = t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            let slot = parts.entry(base.to_string()).or_default();
            if is_sum {
                slot.0 = Some(v);
            } else {
                slot.1 = Some(v);
            }
        }
        let mut entries = BTreeMap::new();
        for (name, (sums, counts)) in parts {
            let (Some(sums), Some(counts)) = (sums, counts) else {
                return Err(bad(path, format!("entry '{name}' lacks its .in_sum2 or .counts tensor")));
            };
            if counts.is_empty() || sums.len() % counts.len() != 0 {
                return Err(bad(path, format!("entry '{name}': {} sums do not split into {} matrices", sums.len(), counts.len())));
            }
            let counts = counts.iter().map(|&c| c.round().max(0.0) as u64).collect();
            entries.insert(name, Entry { sums, counts });
        }
        Ok(Imatrix { entries, datasets, chunk_count, chunk_size, format: Format::Gguf })
    }

    /// Per-column importance for quantizing, `[n_mat * n_cols]`, as llama-quantize derives it: the mean
    /// square activation (sums / count; 1 for a matrix that saw no tokens).
    pub fn weights(&self, name: &str) -> Option<Vec<f32>> {
        let e = self.entries.get(name)?;
        Some(match self.format {
            Format::Gguf => {
                let n = e.n_cols();
                let mut w = e.sums.clone();
                for (m, chunk) in w.chunks_mut(n).enumerate() {
                    let c = e.counts[m] as f32;
                    if c > 0.0 {
                        chunk.iter_mut().for_each(|v| *v /= c);
                    } else {
                        chunk.fill(1.0);
                    }
                }
                w
            }
            Format::Dat => {
                let ncall = e.counts.first().copied().unwrap_or(0);
                if ncall > 0 {
                    e.sums.iter().map(|v| v / ncall as f32).collect()
                } else {
                    e.sums.clone()
                }
            }
        })
    }

    /// Writes `format` atomically (temp file + rename): nothing appears at `path` unless complete.
    pub fn write(&self, path: &Path, format: Format) -> Result<()> {
        match format {
            Format::Dat => write_atomic(path, &self.to_dat()?),
            Format::Gguf => self.write_gguf(path),
        }
    }

    /// The legacy layout. From raw statistics (GGUF form) each value becomes `sum / count * ncall` with
    /// `ncall = ceil(max count / chunk_size)`; matrices that saw nothing store 1 (llama.cpp's rules);
    /// entries that saw nothing at all are left out.
    pub fn to_dat(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut kept = Vec::new();
        for (name, e) in &self.entries {
            if self.format == Format::Gguf && e.counts.iter().all(|&c| c == 0) {
                continue;
            }
            kept.push((name, e));
        }
        let i32_of = |v: usize, what: &str| {
            i32::try_from(v).map_err(|_| QuantizeError::Imatrix(format!("{what} {v} does not fit the .dat layout")))
        };
        out.extend_from_slice(&i32_of(kept.len(), "entry count")?.to_le_bytes());
        for (name, e) in kept {
            out.extend_from_slice(&i32_of(name.len(), "name length")?.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            match self.format {
                Format::Dat => {
                    out.extend_from_slice(&(e.counts.first().copied().unwrap_or(0) as i32).to_le_bytes());
                    out.extend_from_slice(&i32_of(e.sums.len(), "value count")?.to_le_bytes());
                    e.sums.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
                }
                Format::Gguf => {
                    let chunk = self.chunk_size.max(1) as u64;
                    let max = e.counts.iter().copied().max().unwrap_or(0);
                    let ncall = i32_of(max.div_ceil(chunk) as usize, "call count")?;
                    out.extend_from_slice(&ncall.to_le_bytes());
                    out.extend_from_slice(&i32_of(e.sums.len(), "value count")?.to_le_bytes());
                    let n = e.n_cols();
                    for (i, &v) in e.sums.iter().enumerate() {
                        let (mut value, mut count) = (v, e.counts[i / n] as f32);
                        if count == 0.0 {
                            (value, count) = (1.0, 1.0);
                        }
                        out.extend_from_slice(&((value / count) * ncall as f32).to_le_bytes());
                    }
                }
            }
        }
        out.extend_from_slice(&(self.chunk_count as i32).to_le_bytes());
        let dataset = self.datasets.last().map(String::as_str).unwrap_or("");
        out.extend_from_slice(&i32_of(dataset.len(), "dataset name length")?.to_le_bytes());
        out.extend_from_slice(dataset.as_bytes());
        Ok(out)
    }

    fn write_gguf(&self, path: &Path) -> Result<()> {
        if self.format == Format::Dat {
            return Err(QuantizeError::Imatrix(
                "a legacy .dat importance matrix lacks per-matrix token counts; it can only be written as .dat".into(),
            ));
        }
        let mut w = GgufWriter::new();
        w.set("general.type", "imatrix");
        w.set("imatrix.datasets", MetaValue::Array(weights::MetaArray::String(self.datasets.clone())));
        w.set("imatrix.chunk_count", self.chunk_count);
        w.set("imatrix.chunk_size", self.chunk_size);
        for (name, e) in &self.entries {
            let bytes = |v: &mut dyn Iterator<Item = f32>| v.flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
            let (n_mat, n_cols) = (e.n_mat(), e.n_cols());
            w.add_tensor_bytes(format!("{name}.in_sum2"), GgmlType::F32, vec![n_cols, n_mat], bytes(&mut e.sums.iter().copied()))?;
            w.add_tensor_bytes(format!("{name}.counts"), GgmlType::F32, vec![1, n_mat], bytes(&mut e.counts.iter().map(|&c| c as f32)))?;
        }
        w.write(path)?;
        Ok(())
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn i32(&mut self) -> Option<i32> {
        self.bytes(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Temp file in the same folder, fsync, rename; the temp file is removed on any failure.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    Ok(weights::write_atomic(path, data)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Imatrix {
        let mut entries = BTreeMap::new();
        entries.insert("blk.0.attn_q.weight".to_string(), Entry { sums: vec![2.0, 8.0, 0.5, 4.0], counts: vec![1024] });
        // Two experts, the second never routed to.
        entries.insert("blk.0.ffn_up_exps.weight".to_string(), Entry { sums: vec![3.0, 6.0, 0.0, 0.0], counts: vec![600, 0] });
        Imatrix { entries, datasets: vec!["wiki.txt".into()], chunk_count: 2, chunk_size: 512, format: Format::Gguf }
    }

    #[test]
    fn gguf_round_trip_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        let m = sample();
        m.write(&p, Format::Gguf).unwrap();
        assert_eq!(Imatrix::read(&p).unwrap(), m);
    }

    #[test]
    fn dat_layout_and_weights_follow_llama_cpp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.dat");
        let m = sample();
        m.write(&p, Format::Dat).unwrap();
        let b = std::fs::read(&p).unwrap();
        assert_eq!(&b[..4], &2i32.to_le_bytes());
        let back = Imatrix::read(&p).unwrap();
        assert_eq!(back.format, Format::Dat);
        assert_eq!((back.chunk_count, back.datasets.clone()), (2, vec!["wiki.txt".to_string()]));
        // ncall = ceil(1024 / 512) = 2: stored value = sum / count * 2; weights divide by ncall again.
        let q = &back.entries["blk.0.attn_q.weight"];
        assert_eq!(q.counts, vec![2]);
        assert_eq!(q.sums, vec![2.0 / 1024.0 * 2.0, 8.0 / 1024.0 * 2.0, 0.5 / 1024.0 * 2.0, 4.0 / 1024.0 * 2.0]);
        assert_eq!(back.weights("blk.0.attn_q.weight").unwrap(), m.weights("blk.0.attn_q.weight").unwrap());
        // The unrouted expert gets 1 * ncall (ceil(600/512) = 2) in the file and weight 1.
        let w = back.weights("blk.0.ffn_up_exps.weight").unwrap();
        assert_eq!(w, vec![3.0 / 600.0, 6.0 / 600.0, 1.0, 1.0]);
        assert_eq!(m.weights("blk.0.ffn_up_exps.weight").unwrap(), w);
    }

    #[test]
    fn truncated_and_foreign_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.dat");
        let full = sample().to_dat().unwrap();
        std::fs::write(&p, &full[..30]).unwrap();
        let e = Imatrix::read(&p).unwrap_err().to_string();
        assert!(e.contains("entry 1 of 2") && e.contains("truncated"), "{e}");
        std::fs::write(&p, b"hello world, not a matrix").unwrap();
        let e = Imatrix::read(&p).unwrap_err().to_string();
        assert!(e.contains("not an importance matrix"), "{e}");
        let e = Imatrix::read(&dir.path().join("missing.dat")).unwrap_err().to_string();
        assert!(e.contains("cannot read"), "{e}");
    }
}
