//! Cross-entropy through the output head without materializing [tokens, n_vocab] logits: vocab
//! chunks of `chunk` rows, an online log-sum-exp per row, and the hidden-state gradient
//! accumulated in the same pass (rescaled whenever a row's running max moves):
//! dh = sum_v softmax_v cap'_v W_v - cap'_t W_t, loss = logsumexp(z) - z_t.

use kernels::matmul::{matmul, QMatrix};
use kernels::pool::ThreadPool;
use models::layers::{softcap, Linear};

use super::linear::Transposed;
use super::{split, SyncPtr};
use crate::FinetuneError;

/// The output head split into vocab chunks, each with its transposed copy (for the gradient).
pub struct Head<'a> {
    pub lin: &'a Linear,
    pub softcap: Option<f32>,
    pub chunk: usize,
    chunks: Vec<Transposed>,
}

impl<'a> Head<'a> {
    pub fn new(lin: &'a Linear, softcap: Option<f32>, chunk: usize) -> Result<Self, FinetuneError> {
        let chunk = chunk.max(32) / 32 * 32;
        let w = weight(lin);
        let mut chunks = Vec::new();
        let mut r0 = 0;
        while r0 < lin.rows {
            let r1 = (r0 + chunk).min(lin.rows);
            chunks.push(Transposed::build(&w, r0, r1)?);
            r0 = r1;
        }
        Ok(Self { lin, softcap, chunk, chunks })
    }

    pub fn extra_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.data.len()).sum()
    }

    /// Summed loss over rows of `h` [m, d] with targets `tgt` (all valid ids); with `dh`, writes
    /// d(loss)/dh into it [m, d].
    pub fn loss(&self, pool: &ThreadPool, h: &[f32], tgt: &[u32], dh: Option<&mut [f32]>) -> Result<f64, FinetuneError> {
        let (m, d) = (tgt.len(), self.lin.cols);
        if m == 0 {
            return Ok(0.0);
        }
        let w = weight(self.lin);
        let mut mx = vec![f32::NEG_INFINITY; m];
        let mut sum = vec![0.0f32; m];
        let mut zt = vec![0.0f32; m];
        let mut capt = vec![1.0f32; m];
        let mut z = vec![0.0f32; m * self.chunk];
        let mut g = vec![0.0f32; m * d];
        let mut tmp = vec![0.0f32; m * d];
        for (ci, tr) in self.chunks.iter().enumerate() {
            let (r0, c) = (ci * self.chunk, tr.cols);
            let rb = w.row_bytes();
            let wc = QMatrix { ty: w.ty, data: &w.data[r0 * rb..(r0 + c) * rb], rows: c, cols: d };
            let z = &mut z[..m * c];
            matmul(pool, &wc, &h[..m * d], m, z);
            let (zp, mp, sp, gp, tp, cp) = (
                SyncPtr(z.as_mut_ptr()),
                SyncPtr(mx.as_mut_ptr()),
                SyncPtr(sum.as_mut_ptr()),
                SyncPtr(g.as_mut_ptr()),
                SyncPtr(zt.as_mut_ptr()),
                SyncPtr(capt.as_mut_ptr()),
            );
            let grad = dh.is_some();
            pool.run(&|tid, nt| {
                for i in split(m, tid, nt) {
                    // SAFETY: rows are split among threads; each touches only row i of every buffer.
                    let (zr, mi, si) = unsafe { (zp.slice(i * c, c), &mut mp.slice(i, 1)[0], &mut sp.slice(i, 1)[0]) };
                    let t = tgt[i] as usize;
                    let Some(cap) = self.softcap else {
                        // No soft-cap: the kernels' vectorized softmax, then rescaled to exp(z - nm).
                        if (r0..r0 + c).contains(&t) {
                            unsafe { tp.slice(i, 1)[0] = zr[t - r0] };
                        }
                        let cm = zr.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                        kernels::ops::softmax_inplace(zr);
                        // The max entry of a softmax is 1 / sum exp(z - cm).
                        let chunk_sum = 1.0 / zr.iter().fold(0.0f32, |a, &b| a.max(b));
                        let nm = mi.max(cm);
                        let (f, fc) = ((*mi - nm).exp(), (cm - nm).exp());
                        *si = *si * f + chunk_sum * fc;
                        *mi = nm;
                        if grad {
                            kernels::ops::scale(zr, chunk_sum * fc);
                            if f != 1.0 {
                                unsafe { gp.slice(i * d, d) }.iter_mut().for_each(|x| *x *= f);
                            }
                        }
                        continue;
                    };
                    let mut cm = f32::NEG_INFINITY;
                    for (j, v) in zr.iter_mut().enumerate() {
                        *v = softcap(*v, cap);
                        let dcap = 1.0 - (*v / cap) * (*v / cap);
                        if r0 + j == t {
                            unsafe {
                                tp.slice(i, 1)[0] = *v;
                                cp.slice(i, 1)[0] = dcap;
                            }
                        }
                        cm = cm.max(*v);
                    }
                    let nm = mi.max(cm);
                    let f = (*mi - nm).exp();
                    let mut s = 0.0f32;
                    for v in zr.iter_mut() {
                        let e = (*v - nm).exp();
                        s += e;
                        if grad {
                            *v = e * (1.0 - (*v / cap) * (*v / cap));
                        }
                    }
                    *si = *si * f + s;
                    *mi = nm;
                    if grad && f != 1.0 {
                        unsafe { gp.slice(i * d, d) }.iter_mut().for_each(|x| *x *= f);
                    }
                }
            });
            if grad {
                matmul(pool, &tr.matrix(), z, m, &mut tmp);
                kernels::ops::add_assign(&mut g, &tmp);
            }
        }
        let mut loss = 0.0f64;
        for i in 0..m {
            loss += (mx[i] as f64 + (sum[i] as f64).ln()) - zt[i] as f64;
        }
        if let Some(dh) = dh {
            let mut wt = vec![0.0f32; d];
            for i in 0..m {
                let row = w.row(tgt[i] as usize).ok_or_else(|| FinetuneError::Config(format!("target {} is outside the vocabulary", tgt[i])))?;
                kernels::dequant::dequantize_row(w.ty, row, &mut wt).map_err(|e| FinetuneError::Config(e.to_string()))?;
                let inv = 1.0 / sum[i];
                for ((o, &gv), &wv) in dh[i * d..(i + 1) * d].iter_mut().zip(&g[i * d..(i + 1) * d]).zip(&wt) {
                    *o = gv * inv - capt[i] * wv;
                }
            }
        }
        Ok(loss)
    }
}

fn weight(lin: &Linear) -> QMatrix<'_> {
    let t = lin.tensor();
    QMatrix { ty: t.ty, data: t.data(), rows: lin.rows, cols: lin.cols }
}
