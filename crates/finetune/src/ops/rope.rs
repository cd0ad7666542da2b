//! RoPE's backward pass. The forward is `models::layers::Rope::apply` itself; a rotation by theta
//! (times attn_factor a) has the transpose a R(-theta), so the backward rotates by -theta.

use models::layers::{Rope, RopeStyle};

/// dx = a R(theta)^T dy in place, for one head vector and the table row the forward used.
pub fn backward(rope: &Rope, dy: &mut [f32], table_row: &[f32]) {
    let half = rope.rot_dim / 2;
    let (stride, off) = match rope.style {
        RopeStyle::Neox => (1, half),
        RopeStyle::Normal => (2, 1),
    };
    for i in 0..half {
        let (c, s) = (table_row[2 * i], table_row[2 * i + 1]);
        let (ia, ib) = (i * stride, i * stride + off);
        let (a, b) = (dy[ia], dy[ib]);
        dy[ia] = a * c + b * s;
        dy[ib] = -a * s + b * c;
    }
}

/// Fills (cos, sin) rows for each document's positions (restarting at 0 per document): [n, rot_dim].
pub fn table(rope: &Rope, docs: &[(usize, usize)], n: usize) -> Vec<f32> {
    let rd = rope.rot_dim;
    let mut t = vec![0.0f32; n * rd];
    for &(s, len) in docs {
        rope.fill_table(0, len, &mut t[s * rd..(s + len) * rd]);
    }
    t
}
