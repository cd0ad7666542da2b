//! Rotary position embeddings. NEOX rotates pairs (i, i + d/2); Normal rotates (2i, 2i+1)
//! (llama.cpp's converter permutes Llama's q/k into that layout in GGUF files).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    Normal,
    Neox,
}

#[derive(Clone, Debug)]
pub struct Rope {
    pub rot_dim: usize,
    pub base: f32,
    pub style: RopeStyle,
    /// Per-frequency divisors (Llama 3 `rope_freqs.weight`, Phi-3 long-rope factors), length rot_dim/2.
    pub freq_factors: Option<Vec<f32>>,
    /// Scales cos and sin, so attention scores by its square (long-rope's attention factor; 1 elsewhere).
    pub attn_factor: f32,
}

impl Rope {
    /// Fills `table` with (cos, sin) for positions `pos0..pos0+n`: `[n, rot_dim/2, 2]`.
    pub fn fill_table(&self, pos0: usize, n: usize, table: &mut [f32]) {
        let half = self.rot_dim / 2;
        // Frequency by frequency, so each `powf` is taken once per call rather than once per position.
        for i in 0..half {
            let mut inv_freq = (self.base as f64).powf(-2.0 * i as f64 / self.rot_dim as f64);
            if let Some(ff) = &self.freq_factors {
                inv_freq /= ff[i] as f64;
            }
            for t in 0..n {
                let theta = ((pos0 + t) as f64 * inv_freq) as f32;
                let (sin, cos) = theta.sin_cos();
                table[t * half * 2 + 2 * i] = cos * self.attn_factor;
                table[t * half * 2 + 2 * i + 1] = sin * self.attn_factor;
            }
        }
    }

    /// Rotates one head vector in place with one position's table row.
    pub fn apply(&self, x: &mut [f32], table_row: &[f32]) {
        let half = self.rot_dim / 2;
        match self.style {
            RopeStyle::Neox => {
                for i in 0..half {
                    let (c, s) = (table_row[2 * i], table_row[2 * i + 1]);
                    let (a, b) = (x[i], x[i + half]);
                    x[i] = a * c - b * s;
                    x[i + half] = a * s + b * c;
                }
            }
            RopeStyle::Normal => {
                for i in 0..half {
                    let (c, s) = (table_row[2 * i], table_row[2 * i + 1]);
                    let (a, b) = (x[2 * i], x[2 * i + 1]);
                    x[2 * i] = a * c - b * s;
                    x[2 * i + 1] = a * s + b * c;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_zero_is_identity_and_norm_is_kept() {
        let r = Rope { rot_dim: 8, base: 10000.0, style: RopeStyle::Neox, freq_factors: None, attn_factor: 1.0 };
        let mut t = vec![0.0; 2 * 8];
        r.fill_table(0, 2, &mut t);
        let x0: Vec<f32> = (0..8).map(|i| i as f32 - 3.0).collect();
        let mut x = x0.clone();
        r.apply(&mut x, &t[..8]);
        assert_eq!(x, x0);
        r.apply(&mut x, &t[8..]);
        let n0: f32 = x0.iter().map(|v| v * v).sum();
        let n1: f32 = x.iter().map(|v| v * v).sum();
        assert!((n0 - n1).abs() < 1e-4);
        assert_ne!(x, x0);
    }

    #[test]
    fn neox_and_normal_agree_after_permutation() {
        // Normal layout (2i, 2i+1) is NEOX layout (i, i+d/2) after interleaving the halves.
        let d = 8;
        let x: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut t = vec![0.0; d];
        let neox = Rope { rot_dim: d, base: 500.0, style: RopeStyle::Neox, freq_factors: None, attn_factor: 1.0 };
        let normal = Rope { style: RopeStyle::Normal, ..neox.clone() };
        neox.fill_table(7, 1, &mut t);
        let mut a = x.clone();
        neox.apply(&mut a, &t);
        let mut b: Vec<f32> = (0..d).map(|j| if j % 2 == 0 { x[j / 2] } else { x[j / 2 + d / 2] }).collect();
        normal.apply(&mut b, &t);
        for j in 0..d {
            let want = if j % 2 == 0 { a[j / 2] } else { a[j / 2 + d / 2] };
            assert!((b[j] - want).abs() < 1e-6);
        }
    }
}
