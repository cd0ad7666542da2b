//! Watching the inputs of every weight matmul, e.g. to collect an importance matrix.
//!
//! Off unless a caller installs an observer around its forward calls with [`with_observer`]; when off a
//! matmul pays one thread-local read. The observer sees the activations in place (no copies, no
//! allocations). Linear layers run on the thread that called `forward`, so a thread-local reaches
//! them all without threading a parameter through every architecture.

use std::cell::RefCell;
use std::rc::Rc;

pub trait MatmulObserver {
    /// `x`: `[m, cols]`, the inputs multiplied by `weight` (its tensor name; one expert of a stacked
    /// MoE tensor is named `"<tensor>[<expert>]"`).
    fn on_matmul(&self, weight: &str, x: &[f32], m: usize, cols: usize);
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<dyn MatmulObserver>>> = const { RefCell::new(None) };
}

/// Runs `f` with `obs` seeing every matmul made on this thread, then restores the previous observer
/// (also when `f` panics).
pub fn with_observer<R>(obs: Rc<dyn MatmulObserver>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Rc<dyn MatmulObserver>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = prev);
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(obs)));
    f()
}

#[inline]
pub(crate) fn notify(weight: &str, x: &[f32], m: usize, cols: usize) {
    // Cloned out so the observer may itself run a model (re-entrancy) without a RefCell conflict.
    let obs = CURRENT.with(|c| c.borrow().clone());
    if let Some(o) = obs {
        o.on_matmul(weight, x, m, cols);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    struct Count(Cell<usize>);
    impl MatmulObserver for Count {
        fn on_matmul(&self, _: &str, _: &[f32], m: usize, _: usize) {
            self.0.set(self.0.get() + m);
        }
    }

    #[test]
    fn observer_is_scoped_to_the_call() {
        let c = Rc::new(Count(Cell::new(0)));
        notify("w", &[0.0; 4], 2, 2);
        with_observer(c.clone(), || notify("w", &[0.0; 6], 3, 2));
        notify("w", &[0.0; 4], 2, 2);
        assert_eq!(c.0.get(), 3);
    }
}
