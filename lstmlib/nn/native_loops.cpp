// The time loops of lstmlib.nn's recurrent layers, in C++ (see lstmlib/nn/native.py): forward and
// backward of the LSTM, the peephole LSTM and the CIFG; forward of the GRU and the plain RNN.
//
// Python runs a recurrence as about ten tensor operations per step, each paying
// the interpreter and the dispatcher (several microseconds apiece); at the sizes
// the book trains (H <= 128) that overhead, not arithmetic, is most of the time.
// Here each step is one matrix product, written out below with the weight
// packed once per sequence into panels (faster than MKL's general GEMM for these
// skinny products: B rows against a weight of 4H x H), and ONE fused pass over
// the gates: pre-activation -> nonlinearity -> cell -> output, written so the
// compiler vectorises it. No autograd, no tensors: plain pointers to contiguous
// row-major buffers that lstmlib/nn/native.py allocates with exactly the layouts
// of the Python loops, so the autograd Functions around them, and every path that
// still runs the Python loops (second derivatives, tracers), see the same caches.
//
// Layouts (row-major, as in lstmlib/nn/lstm.py, peephole.py, coupled.py; gru.py and rnn.py
// at their functions below):
//   xw (T, B, G), G = K*H with K gate blocks (LSTM, peephole: i f g o; CIFG: i g o)
//   acts (n, B, A, H): the gates after their nonlinearities; A = K, or 5 for the
//                      peephole LSTM, whose 5th block is tanh(c_t)
//   cs (n + 1, B, H): c_0 then each c_t;  tanh_cs (n, B, H) (not for the peephole LSTM)
//   y (T, B, H);  mask (T, B) of 0/1 bytes or null;  n = T when keeping caches, else 1
//
// Float32 uses a polynomial exp (error about 2 ulp) so that the loops vectorise,
// and tanh(a) = 1 - 2 / (1 + exp(2a)), the identity the Python fast path uses as 2 sigmoid(2a) - 1;
// float64, the library's checking precision, uses the C library's exp and tanh.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

enum Variant { LSTM = 0, PEEPHOLE = 1, COUPLED = 2, RNN_TANH = 3, RNN_RELU = 4, GRU = 5 };

// ---- elementwise functions --------------------------------------------------------------------

inline float exp_approx(float x) {
  // exp(x) = 2^n e^r, n = round(x / ln 2), |r| <= ln2 / 2; e^r by its degree-7 Taylor polynomial
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // round to nearest by the 1.5 * 2^23 trick (vectorises everywhere, unlike nearbyint)
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln 2 split in two for exactness
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoid(float a) { return 1.0f / (1.0f + exp_approx(-a)); }
inline float tanh_(float a) { return 1.0f - 2.0f / (1.0f + exp_approx(2.0f * a)); }
inline double sigmoid(double a) { return 1.0 / (1.0 + std::exp(-a)); }
inline double tanh_(double a) { return std::tanh(a); }

// ---- the step products ------------------------------------------------------------------------
// Forward: pre (B, G) += h (B, H) W^T; backward: dh (B, H) += da (B, G) W; W: (G, H) row-major.
// Both are C (B, N) += A (B, K) M with M (K, N) read from W: M = W^T (K = H, N = G) or M = W (K = G, N = H).
// M is packed once per sequence into panels of NR columns, each K x NR contiguous (zero-padded), so
// the kernel streams one panel while it holds an MR x NR block of C in registers: per k, two vector
// loads of the panel and MR broadcasts of A feed 2 MR fused multiply-adds. Measured against MKL's
// sgemm (one thread, B = 32, G = 4H; C += A M^T alone, us): H=64 10.0 vs 11.9, H=128 38.7 vs 44.4,
// H=256 156 vs 200, H=512 643 vs 862, H=1024 3050 vs 4620 (88 GFLOP/s vs 58).
// For B = 1 (a matrix-vector product) the panels do not pay: gemv_rows / gemv_cols below.

typedef float Vec16f __attribute__((vector_size(64)));
typedef double Vec8d __attribute__((vector_size(64)));
typedef float Vec8f __attribute__((vector_size(32)));
typedef double Vec4d __attribute__((vector_size(32)));
template <typename scalar_t>
struct VecOf;
template <>
struct VecOf<float> {
  using wide = Vec16f;
  using narrow = Vec8f;
};
template <>
struct VecOf<double> {
  using wide = Vec8d;
  using narrow = Vec4d;
};

// body(i) for i in [0, n): split over `team` OpenMP threads when team > 1, else a plain loop (entering an
// OpenMP region costs about half a microsecond even on one thread: more than a small step's arithmetic)
template <typename F>
inline void parallel_for(long n, int team, const F& body) {
  if (team > 1) {
#pragma omp parallel for num_threads(team) schedule(static)
    for (long i = 0; i < n; ++i) body(i);
  } else {
    for (long i = 0; i < n; ++i) body(i);
  }
}

constexpr int MR = 8;  // rows of C per block

template <typename scalar_t>
struct Panels {
  using V = typename VecOf<scalar_t>::wide;
  static constexpr int VL = sizeof(V) / sizeof(scalar_t);
  static constexpr int NR = 2 * VL;  // columns per panel: two vectors
  long K, N, count;
  std::vector<scalar_t> data;  // count panels of K x NR
  // M[k][n] = transposed ? W[n][k] : W[k][n], W row-major with rows of length ldw
  Panels(const scalar_t* w, long K_, long N_, long ldw, bool transposed)
      : K(K_), N(N_), count((N_ + NR - 1) / NR), data(static_cast<size_t>(count) * K_ * NR, scalar_t(0)) {
    for (long p = 0; p < count; ++p) {
      const long width = N - p * NR < NR ? N - p * NR : NR;
      scalar_t* panel = data.data() + p * K * NR;
      for (long k = 0; k < K; ++k)
        for (long j = 0; j < width; ++j)
          panel[k * NR + j] = transposed ? w[(p * NR + j) * ldw + k] : w[k * ldw + p * NR + j];
    }
  }
};

// C[r, 0:NR] = C0[r, 0:NR] + sum_k A[r, k] panel[k, 0:NR] for r < M (M <= MR); C0 may be C
template <int M, typename scalar_t>
inline void block(long K, const scalar_t* __restrict a, long lda, const scalar_t* __restrict panel,
                  const scalar_t* c0, long ldc0, scalar_t* c, long ldc) {
  using V = typename VecOf<scalar_t>::wide;
  constexpr int VL = Panels<scalar_t>::VL, NR = Panels<scalar_t>::NR;
  V lo[M], hi[M];
  for (int r = 0; r < M; ++r) {
    std::memcpy(&lo[r], c0 + r * ldc0, sizeof(V));
    std::memcpy(&hi[r], c0 + r * ldc0 + VL, sizeof(V));
  }
  for (long k = 0; k < K; ++k) {
    V w0, w1;
    std::memcpy(&w0, panel + k * NR, sizeof(V));
    std::memcpy(&w1, panel + k * NR + VL, sizeof(V));
    for (int r = 0; r < M; ++r) {
      const scalar_t x = a[r * lda + k];
      lo[r] += x * w0;
      hi[r] += x * w1;
    }
  }
  for (int r = 0; r < M; ++r) {
    std::memcpy(c + r * ldc, &lo[r], sizeof(V));
    std::memcpy(c + r * ldc + VL, &hi[r], sizeof(V));
  }
}

// Panel p's columns of C (B, N, rows ldc apart) = C0 (rows ldc0 apart; may be C) + A (B, K, rows lda apart) M
template <typename scalar_t>
void panel_columns(const Panels<scalar_t>& m, long p, long B, const scalar_t* a, long lda, const scalar_t* c0,
                   long ldc0, scalar_t* c, long ldc) {
  constexpr int NR = Panels<scalar_t>::NR;
  const long K = m.K, N = m.N;
  const scalar_t* panel = m.data.data() + p * K * NR;
  const long width = N - p * NR < NR ? N - p * NR : NR;
  scalar_t tile[MR * NR];  // the last panel's partial columns go through a full-width tile
  for (long b = 0; b < B; b += MR) {
    const long rows = B - b < MR ? B - b : MR;
    scalar_t* cb = c + b * ldc + p * NR;
    const scalar_t* source = c0 + b * ldc0 + p * NR;
    scalar_t* target = cb;
    long ld = ldc, ld0 = ldc0;
    if (width < NR) {
      for (long r = 0; r < rows; ++r)
        for (long j = 0; j < NR; ++j) tile[r * NR + j] = j < width ? source[r * ldc0 + j] : scalar_t(0);
      source = target = tile, ld = ld0 = NR;
    }
    const scalar_t* ab = a + b * lda;
    switch (rows) {
      case 8: block<8>(K, ab, lda, panel, source, ld0, target, ld); break;
      case 7: block<7>(K, ab, lda, panel, source, ld0, target, ld); break;
      case 6: block<6>(K, ab, lda, panel, source, ld0, target, ld); break;
      case 5: block<5>(K, ab, lda, panel, source, ld0, target, ld); break;
      case 4: block<4>(K, ab, lda, panel, source, ld0, target, ld); break;
      case 3: block<3>(K, ab, lda, panel, source, ld0, target, ld); break;
      case 2: block<2>(K, ab, lda, panel, source, ld0, target, ld); break;
      default: block<1>(K, ab, lda, panel, source, ld0, target, ld); break;
    }
    if (width < NR)
      for (long r = 0; r < rows; ++r)
        for (long j = 0; j < width; ++j) cb[r * ldc + j] = tile[r * NR + j];
  }
}

// C = C0 + A M (as panel_columns, every panel), the panels split over `threads` threads
template <typename scalar_t>
void panel_product(const Panels<scalar_t>& m, long B, const scalar_t* a, long lda, const scalar_t* c0, long ldc0,
                   scalar_t* c, long ldc, int threads) {
  // threads only where the work outweighs waking them (about 0.5 M multiply-adds)
  const int team = B * m.N * m.K >= (1L << 19) ? threads : 1;
  if (team > 1) {
#pragma omp parallel for num_threads(team) schedule(static)
    for (long p = 0; p < m.count; ++p) panel_columns(m, p, B, a, lda, c0, ldc0, c, ldc);
  } else {
    for (long p = 0; p < m.count; ++p) panel_columns(m, p, B, a, lda, c0, ldc0, c, ldc);
  }
}

// Matrix-vector products for B = 1, written out (one thread, H = 128..1024, against MKL's gemv:
// 3.7 vs 4.7 us, 14 vs 21 us, 59 vs 82 us). 256-bit vectors, 8 rows at a time.

// y[g] += sum_k W[g, k] x[k] for g in [g0, g1), W: (G, H) row-major
template <typename scalar_t>
void gemv_rows_range(long g0, long g1, long H, const scalar_t* __restrict W, const scalar_t* __restrict x,
                     scalar_t* __restrict y) {
  using V = typename VecOf<scalar_t>::narrow;
  constexpr int R = 8, L = sizeof(V) / sizeof(scalar_t);
  long g = g0;
  for (; g + R <= g1; g += R) {
    V acc[R] = {};
    long k = 0;
    for (; k + L <= H; k += L) {
      V xv;
      std::memcpy(&xv, x + k, sizeof xv);
      for (int r = 0; r < R; ++r) {
        V w;
        std::memcpy(&w, W + (g + r) * H + k, sizeof w);
        acc[r] += w * xv;
      }
    }
    for (int r = 0; r < R; ++r) {
      scalar_t sum = 0;
      for (int l = 0; l < L; ++l) sum += acc[r][l];
      for (long j = k; j < H; ++j) sum += W[(g + r) * H + j] * x[j];
      y[g + r] += sum;
    }
  }
  for (; g < g1; ++g) {
    scalar_t sum = 0;
    for (long k = 0; k < H; ++k) sum += W[g * H + k] * x[k];
    y[g] += sum;
  }
}

// y[k] += sum_g x[g] W[g, k] for k in [k0, k1), W: (G, H) row-major (y = W^T x)
template <typename scalar_t>
void gemv_cols_range(long k0, long k1, long G, long H, const scalar_t* __restrict W, const scalar_t* __restrict x,
                     scalar_t* __restrict y) {
  constexpr int R = 8;
  long g = 0;
  for (; g + R <= G; g += R) {
    const scalar_t* w = W + g * H;
    for (long k = k0; k < k1; ++k) {
      scalar_t sum = 0;
      for (int r = 0; r < R; ++r) sum += x[g + r] * w[r * H + k];
      y[k] += sum;
    }
  }
  for (; g < G; ++g)
    for (long k = k0; k < k1; ++k) y[k] += x[g] * W[g * H + k];
}

// Either product split into `threads` contiguous ranges (of multiples of 64 outputs) where it is large
// enough to outweigh waking the threads (about 256 K multiply-adds: H >= 256; at H = 128 two threads
// made a batch-1 forward 1.4 times slower than one)
template <typename scalar_t>
void gemv(bool rows, long G, long H, const scalar_t* W, const scalar_t* x, scalar_t* y, int threads) {
  const long n = rows ? G : H;
  const int team = G * H >= (1L << 18) ? threads : 1;
  const long chunk = ((n + team - 1) / team + 63) / 64 * 64;
  parallel_for((n + chunk - 1) / chunk, team, [&](long i) {
    const long start = i * chunk, end = start + chunk < n ? start + chunk : n;
    rows ? gemv_rows_range<scalar_t>(start, end, H, W, x, y) : gemv_cols_range<scalar_t>(start, end, G, H, W, x, y);
  });
}

// The product of one step with the recurrent weight W (G, H), set up once per sequence:
// forward (transposed = true): C (B, G) += A (B, H) W^T;  backward: C (B, H) += A (B, G) W.
template <typename scalar_t>
struct StepProduct {
  // Up to this H a forward matrix-vector product runs faster on a copy of W^T (no horizontal sums of
  // vector lanes). The copy costs G H per sequence: measured, B = 1, T = 100, one thread, a whole forward
  // (ms, without / with the copy): H=64 0.139 / 0.109; H=128 0.379 / 0.515, where the copy eats the gain.
  static constexpr long kTransposedCopyMaxH = 64;
  long G, H, B;
  bool transposed;
  int threads;
  const scalar_t* w;
  Panels<scalar_t> panels;
  std::vector<scalar_t> w_t;  // W^T (H, G), for B = 1 forward products of small H
  StepProduct(const scalar_t* w_, long G_, long H_, long B_, bool transposed_, int threads_)
      : G(G_), H(H_), B(B_), transposed(transposed_), threads(threads_), w(w_),
        panels(w_, B_ == 1 ? 0 : (transposed_ ? H_ : G_), B_ == 1 ? 0 : (transposed_ ? G_ : H_), H_, transposed_) {
    if (B == 1 && transposed && H <= kTransposedCopyMaxH) {
      w_t.resize(static_cast<size_t>(G) * H);
      for (long g = 0; g < G; ++g)
        for (long k = 0; k < H; ++k) w_t[k * G + g] = w[g * H + k];
    }
  }
  // c = c0 + a W^T (forward) or c0 + a W (backward); c0 may be c
  void operator()(const scalar_t* a, const scalar_t* c0, scalar_t* c) const {
    const long n = transposed ? G : H;
    if (B == 1) {
      if (c0 != c) std::memcpy(c, c0, sizeof(scalar_t) * n);
      if (!w_t.empty()) {
        gemv<scalar_t>(false, H, G, w_t.data(), a, c, threads);  // c += (W^T)^T a, column form
      } else {
        gemv<scalar_t>(transposed, G, H, w, a, c, threads);
      }
    } else {
      panel_product(panels, B, a, transposed ? H : G, c0, n, c, n, threads);
    }
  }
};

// ---- one batch row of one step: the gates' nonlinearities, the cell and the output, fused -------
// p: the row's pre-activations (K blocks of H); r: its activations (A blocks); cp, hp: c_{t-1}, h_{t-1};
// co, tc, yo: c_t, tanh(c_t), h_t. A frozen row (past its sequence's end, LIVE false) keeps c and h.
// Separate restrict-qualified functions, one per LIVE, so that the compiler vectorises each loop.

template <bool LIVE, typename scalar_t>
void lstm_row(long H, const scalar_t* __restrict p, scalar_t* __restrict r, const scalar_t* __restrict cp, const scalar_t* __restrict hp,
              scalar_t* __restrict co, scalar_t* __restrict tc, scalar_t* __restrict yo) {
  for (long j = 0; j < H; ++j) {
    const scalar_t i = sigmoid(p[j]), f = sigmoid(p[H + j]), g = tanh_(p[2 * H + j]), o = sigmoid(p[3 * H + j]);
    const scalar_t c = LIVE ? f * cp[j] + i * g : cp[j];  // c_t = f c_{t-1} + i g
    const scalar_t u = tanh_(c);
    r[j] = i, r[H + j] = f, r[2 * H + j] = g, r[3 * H + j] = o;
    co[j] = c, tc[j] = u;
    yo[j] = LIVE ? o * u : hp[j];  // h_t = o tanh(c_t)
  }
}

template <bool LIVE, typename scalar_t>
void peephole_row(long H, const scalar_t* __restrict p, scalar_t* __restrict r, const scalar_t* __restrict cp, const scalar_t* __restrict hp,
                  const scalar_t* __restrict w_ci, const scalar_t* __restrict w_cf, const scalar_t* __restrict w_co,
                  scalar_t* __restrict co, scalar_t* __restrict yo) {
  for (long j = 0; j < H; ++j) {
    const scalar_t i = sigmoid(p[j] + w_ci[j] * cp[j]), f = sigmoid(p[H + j] + w_cf[j] * cp[j]);
    const scalar_t g = tanh_(p[2 * H + j]);
    const scalar_t c = LIVE ? f * cp[j] + i * g : cp[j];
    const scalar_t o = sigmoid(p[3 * H + j] + w_co[j] * c), u = tanh_(c);  // o reads the new cell
    r[j] = i, r[H + j] = f, r[2 * H + j] = g, r[3 * H + j] = o, r[4 * H + j] = u;
    co[j] = c;
    yo[j] = LIVE ? o * u : hp[j];
  }
}

template <bool LIVE, typename scalar_t>
void coupled_row(long H, const scalar_t* __restrict p, scalar_t* __restrict r, const scalar_t* __restrict cp, const scalar_t* __restrict hp,
                 scalar_t* __restrict co, scalar_t* __restrict tc, scalar_t* __restrict yo) {
  for (long j = 0; j < H; ++j) {
    const scalar_t i = sigmoid(p[j]), g = tanh_(p[H + j]), o = sigmoid(p[2 * H + j]);
    const scalar_t c = LIVE ? cp[j] + i * (g - cp[j]) : cp[j];  // f = 1 - i: c_{t-1} + i (g - c_{t-1})
    const scalar_t u = tanh_(c);
    r[j] = i, r[H + j] = g, r[2 * H + j] = o;
    co[j] = c, tc[j] = u;
    yo[j] = LIVE ? o * u : hp[j];
  }
}

// One step's pointwise work for all B rows: pre (B, K H) the pre-activations, act (B, A, H) the activations;
// mask_t: (B,) bytes or null.
template <typename scalar_t>
void pointwise_step(int variant, long B, long H, const scalar_t* pre, scalar_t* act, const scalar_t* c_prev, const scalar_t* h_prev,
                    const scalar_t* peep, const std::uint8_t* mask_t, scalar_t* c_out, scalar_t* tanh_c,
                    scalar_t* y_t, int threads) {
  const long K = variant == COUPLED ? 3 : 4;
  const long A = variant == PEEPHOLE ? 5 : K;
  const scalar_t* w_ci = peep;
  const scalar_t* w_cf = peep ? peep + H : nullptr;
  const scalar_t* w_co = peep ? peep + 2 * H : nullptr;
  const int team = B * H >= 4096 ? threads : 1;  // rows split over threads where there is enough work
  parallel_for(B, team, [&](long b) {
    const scalar_t* p = pre + b * K * H;
    scalar_t* r = act + b * A * H;
    const scalar_t* cp = c_prev + b * H;
    scalar_t* co = c_out + b * H;
    const scalar_t* hp = h_prev + b * H;
    scalar_t* yo = y_t + b * H;
    const bool live = mask_t == nullptr || mask_t[b];
    scalar_t* tc = tanh_c ? tanh_c + b * H : nullptr;
    if (variant == LSTM) {
      live ? lstm_row<true>(H, p, r, cp, hp, co, tc, yo) : lstm_row<false>(H, p, r, cp, hp, co, tc, yo);
    } else if (variant == PEEPHOLE) {
      live ? peephole_row<true>(H, p, r, cp, hp, w_ci, w_cf, w_co, co, yo)
           : peephole_row<false>(H, p, r, cp, hp, w_ci, w_cf, w_co, co, yo);
    } else {
      live ? coupled_row<true>(H, p, r, cp, hp, co, tc, yo) : coupled_row<false>(H, p, r, cp, hp, co, tc, yo);
    }
  });
}

template <typename scalar_t>
void forward(int variant, long T, long B, long H, const scalar_t* xw, const scalar_t* h_0, const scalar_t* c_0,
             const scalar_t* w_hh, const scalar_t* peep, const std::uint8_t* mask, bool keep, int threads,
             scalar_t* y, scalar_t* cs, scalar_t* acts, scalar_t* tanh_cs) {
  const long K = variant == COUPLED ? 3 : 4;
  const long A = variant == PEEPHOLE ? 5 : K;  // blocks per row of acts
  const long G = K * H;
  const StepProduct<scalar_t> product(w_hh, G, H, B, true, threads);
  std::memcpy(cs, c_0, sizeof(scalar_t) * B * H);
  std::vector<scalar_t> scratch_rows((keep ? 0 : 2 * B * H) + B * G);
  scalar_t* pre = scratch_rows.data();  // (B, G): one step's pre-activations
  scalar_t* scratch = pre + B * G;
  const scalar_t* h_prev = h_0;
  for (long t = 0; t < T; ++t) {
    const long s = keep ? t : 0;
    scalar_t* act = acts + s * B * A * H;
    // without keep, c_t goes to two scratch rows in turn (the row functions must not write what they read)
    const scalar_t* c_prev = keep ? cs + t * B * H : (t == 0 ? cs : scratch + ((t - 1) % 2) * B * H);
    scalar_t* c_out = keep ? cs + (t + 1) * B * H : scratch + (t % 2) * B * H;
    scalar_t* tanh_c = tanh_cs ? tanh_cs + s * B * H : nullptr;
    scalar_t* y_t = y + t * B * H;
    product(h_prev, xw + t * B * G, pre);  // pre-activations xw_t + h_{t-1} W_hh^T
    pointwise_step(variant, B, H, pre, act, c_prev, h_prev, peep, mask ? mask + t * B : nullptr, c_out, tanh_c, y_t,
                   threads);
    h_prev = y_t;
  }
  if (!keep) std::memcpy(cs, scratch + ((T - 1) % 2) * B * H, sizeof(scalar_t) * B * H);  // c_T
}

// ---- the plain RNN and the GRU: forward only (their hand-written backward stays in Python) ------

// h_t = act(xw_t + h_{t-1} W_hh^T), act tanh or relu; xw (T, B, H) -> y (T, B, H)
template <typename scalar_t>
void rnn_forward(bool relu, long T, long B, long H, const scalar_t* xw, const scalar_t* h_0, const scalar_t* w_hh,
                 const std::uint8_t* mask, int threads, scalar_t* y) {
  const StepProduct<scalar_t> product(w_hh, H, H, B, true, threads);
  std::vector<scalar_t> pre_rows(B * H);
  scalar_t* pre = pre_rows.data();
  const scalar_t* h_prev = h_0;
  for (long t = 0; t < T; ++t) {
    scalar_t* y_t = y + t * B * H;
    product(h_prev, xw + t * B * H, pre);
    for (long b = 0; b < B; ++b) {
      const bool live = mask == nullptr || mask[t * B + b];
      const scalar_t* p = pre + b * H;
      const scalar_t* hp = h_prev + b * H;
      scalar_t* yo = y_t + b * H;
      if (!live) {
        std::memcpy(yo, hp, sizeof(scalar_t) * H);  // frozen past the sequence's end
      } else if (relu) {
        for (long j = 0; j < H; ++j) yo[j] = p[j] > 0 ? p[j] : scalar_t(0);
      } else {
        for (long j = 0; j < H; ++j) yo[j] = tanh_(p[j]);
      }
    }
    h_prev = y_t;
  }
}

// One GRU row: a = [a_r, a_z, a_hn] (a_hn = W_hn h + b_hn) becomes [r, z, a_hn]; n = tanh(xn + r a_hn);
// h_t = n + z (h_{t-1} - n), or h_{t-1} for a frozen row
template <bool LIVE, typename scalar_t>
void gru_row(long H, scalar_t* __restrict a, const scalar_t* __restrict xn, const scalar_t* __restrict hp,
             scalar_t* __restrict n_out, scalar_t* __restrict hmn_out, scalar_t* __restrict yo) {
  for (long j = 0; j < H; ++j) {
    const scalar_t r = sigmoid(a[j]), z = sigmoid(a[H + j]);
    const scalar_t n = tanh_(xn[j] + r * a[2 * H + j]);
    const scalar_t hmn = hp[j] - n;
    a[j] = r, a[H + j] = z;
    n_out[j] = n, hmn_out[j] = hmn;
    yo[j] = LIVE ? n + z * hmn : hp[j];
  }
}

// The loop of lstmlib.nn.gru._gru_loop: xw (T, B, 3H) = x W_ih^T + b_ih + [b_hr, b_hz, 0], b_hn (H) or null;
// y (T, B, H); the caches acts (n, B, 3H) = [r, z, a_hn], ns and h_{t-1} - n_t (n, B, H), n = T or 1
template <typename scalar_t>
void gru_forward(long T, long B, long H, const scalar_t* xw, const scalar_t* h_0, const scalar_t* w_hh,
                 const scalar_t* b_hn, const std::uint8_t* mask, bool keep, int threads, scalar_t* y, scalar_t* acts,
                 scalar_t* ns, scalar_t* hmns) {
  const long G = 3 * H;
  const StepProduct<scalar_t> product(w_hh, G, H, B, true, threads);
  const scalar_t* h_prev = h_0;
  for (long t = 0; t < T; ++t) {
    const long s = keep ? t : 0;
    scalar_t* a = acts + s * B * G;
    for (long b = 0; b < B; ++b) {  // [xw_r, xw_z, b_hn], then += h_{t-1} W_hh^T
      std::memcpy(a + b * G, xw + (t * B + b) * G, sizeof(scalar_t) * 2 * H);
      for (long j = 0; j < H; ++j) a[b * G + 2 * H + j] = b_hn ? b_hn[j] : scalar_t(0);
    }
    product(h_prev, a, a);
    for (long b = 0; b < B; ++b) {
      const bool live = mask == nullptr || mask[t * B + b];
      scalar_t* row = a + b * G;
      const scalar_t* xn = xw + (t * B + b) * G + 2 * H;
      const scalar_t* hp = h_prev + b * H;
      scalar_t* n = ns + (s * B + b) * H;
      scalar_t* hmn = hmns + (s * B + b) * H;
      scalar_t* yo = y + (t * B + b) * H;
      live ? gru_row<true>(H, row, xn, hp, n, hmn, yo) : gru_row<false>(H, row, xn, hp, n, hmn, yo);
    }
    h_prev = y + t * B * H;
  }
}

// ---- backward through time --------------------------------------------------------------------

// One live batch row of one step, the local derivatives computed on the fly from the forward's caches:
// r = the row's activations (A blocks), cp = c_{t-1}, u = tanh(c_t); dh, dc: dL/dh_t, dL/dc_t in, and dc
// becomes dL/dc_{t-1}; da: dL/da_t, the gate pre-activations' gradient (K blocks). With s(1-s) = σ'(a) and
// 1 - g^2 = tanh'(a), as gate_slopes in lstm.py and coupled.py spell out.

template <typename scalar_t>
void lstm_backward_row(long H, const scalar_t* __restrict r, const scalar_t* __restrict cp,
                       const scalar_t* __restrict u, const scalar_t* __restrict dh, scalar_t* __restrict dc,
                       scalar_t* __restrict da) {
  for (long j = 0; j < H; ++j) {
    const scalar_t i = r[j], f = r[H + j], g = r[2 * H + j], o = r[3 * H + j], tc = u[j];
    const scalar_t c = dc[j] + dh[j] * o * (1 - tc * tc);  // + backprop through h_t = o tanh(c_t)
    da[j] = c * g * i * (1 - i);
    da[H + j] = c * cp[j] * f * (1 - f);
    da[2 * H + j] = c * i * (1 - g * g);
    da[3 * H + j] = dh[j] * tc * o * (1 - o);
    dc[j] = c * f;
  }
}

// (also adds this row's share of the peepholes' gradients to dpeep = [dw_ci, dw_cf, dw_co]: da_i c_{t-1},
// da_f c_{t-1}, da_o c_t; cn = c_t)
template <typename scalar_t>
void peephole_backward_row(long H, const scalar_t* __restrict r, const scalar_t* __restrict cp,
                           const scalar_t* __restrict cn, const scalar_t* __restrict w_ci,
                           const scalar_t* __restrict w_cf, const scalar_t* __restrict w_co,
                           const scalar_t* __restrict dh, scalar_t* __restrict dc, scalar_t* __restrict da,
                           scalar_t* __restrict dpeep) {
  for (long j = 0; j < H; ++j) {
    const scalar_t i = r[j], f = r[H + j], g = r[2 * H + j], o = r[3 * H + j], tc = r[4 * H + j];
    const scalar_t slope_i = g * i * (1 - i), slope_f = cp[j] * f * (1 - f), slope_o = tc * o * (1 - o);
    // c_t reaches h_t through tanh and, by the peephole w_co, through o
    const scalar_t c = dc[j] + dh[j] * (o * (1 - tc * tc) + slope_o * w_co[j]);
    da[j] = c * slope_i;
    da[H + j] = c * slope_f;
    da[2 * H + j] = c * i * (1 - g * g);
    da[3 * H + j] = dh[j] * slope_o;
    dc[j] = c * (f + slope_i * w_ci[j] + slope_f * w_cf[j]);  // c_{t-1} also reaches c_t through i and f
    dpeep[j] += da[j] * cp[j];
    dpeep[H + j] += da[H + j] * cp[j];
    dpeep[2 * H + j] += da[3 * H + j] * cn[j];
  }
}

template <typename scalar_t>
void coupled_backward_row(long H, const scalar_t* __restrict r, const scalar_t* __restrict cp,
                          const scalar_t* __restrict u, const scalar_t* __restrict dh, scalar_t* __restrict dc,
                          scalar_t* __restrict da) {
  for (long j = 0; j < H; ++j) {
    const scalar_t i = r[j], g = r[H + j], o = r[2 * H + j], tc = u[j];
    const scalar_t c = dc[j] + dh[j] * o * (1 - tc * tc);
    da[j] = c * (g - cp[j]) * i * (1 - i);  // i writes g and, through f = 1 - i, erases c_{t-1}
    da[H + j] = c * i * (1 - g * g);
    da[2 * H + j] = dh[j] * tc * o * (1 - o);
    dc[j] = c * (1 - i);
  }
}

// Backpropagation through time of one layer-direction (lstmlib.nn.lstm.lstm_backward_loop's loop with the
// local derivatives fused in): acts, cs, tanh_cs as forward() kept them (tanh_cs null for the peephole LSTM);
// dy (T, B, H), dh_n, dc_n (B, H) -> dgates (T, B, K H), and dh, dc (B, H): dL/dh_0, dL/dc_0; for the peephole
// LSTM, dpeep (3, H) (zeroed here) receives the peepholes' gradients.
template <typename scalar_t>
void backward(int variant, long T, long B, long H, const scalar_t* acts, const scalar_t* cs,
              const scalar_t* tanh_cs, const scalar_t* peep, const scalar_t* dy, const scalar_t* dh_n,
              const scalar_t* dc_n, const scalar_t* w_hh, const std::uint8_t* mask, int threads, scalar_t* dgates,
              scalar_t* dh, scalar_t* dc, scalar_t* dpeep) {
  const long K = variant == COUPLED ? 3 : 4;
  const long A = variant == PEEPHOLE ? 5 : K;
  const long G = K * H;
  const StepProduct<scalar_t> product(w_hh, G, H, B, false, threads);
  std::vector<scalar_t> frozen(mask ? B * H : 0);  // what frozen rows hand straight to step t-1
  scalar_t* dh_frozen = mask ? frozen.data() : nullptr;
  const scalar_t* dy_last = dy + (T - 1) * B * H;
  for (long k = 0; k < B * H; ++k) dh[k] = dh_n[k] + dy_last[k], dc[k] = dc_n[k];
  if (dpeep) std::memset(dpeep, 0, sizeof(scalar_t) * 3 * H);
  // rows split over threads where there is enough work, and no shared sum (the peepholes' gradients) to race on
  const int row_team = B * H >= 4096 && !dpeep ? threads : 1;
  for (long t = T - 1; t >= 0; --t) {
    scalar_t* dg = dgates + t * B * G;
    const auto row = [&](long b) {
      const scalar_t* r = acts + (t * B + b) * A * H;
      const scalar_t* cp = cs + (t * B + b) * H;
      const scalar_t* u = tanh_cs ? tanh_cs + (t * B + b) * H : nullptr;
      scalar_t* d = dg + b * G;
      scalar_t* dhb = dh + b * H;
      scalar_t* dcb = dc + b * H;
      if (mask && !mask[t * B + b]) {  // a frozen step: dh and dc pass to step t-1 untouched
        std::memcpy(dh_frozen + b * H, dhb, sizeof(scalar_t) * H);
        std::memset(d, 0, sizeof(scalar_t) * G);
        return;
      }
      if (mask) std::memset(dh_frozen + b * H, 0, sizeof(scalar_t) * H);
      if (variant == LSTM) {
        lstm_backward_row(H, r, cp, u, dhb, dcb, d);
      } else if (variant == PEEPHOLE) {
        peephole_backward_row(H, r, cp, cp + B * H, peep, peep + H, peep + 2 * H, dhb, dcb, d, dpeep);
      } else {
        coupled_backward_row(H, r, cp, u, dhb, dcb, d);
      }
    };
    parallel_for(B, row_team, row);
    // dh_{t-1} = da_t W_hh + dy_{t-1} (+ what a frozen row handed on)
    const scalar_t* dy_prev = t > 0 ? dy + (t - 1) * B * H : nullptr;
    for (long k = 0; k < B * H; ++k) dh[k] = (dy_prev ? dy_prev[k] : 0) + (mask ? dh_frozen[k] : 0);
    product(dg, dh, dh);
  }
}

// The exported forward's arguments by variant: the LSTM family as forward(); the RNN uses xw, h_0, w_hh,
// mask and y; the GRU passes b_hn as `peep` and its caches ns, h_{t-1} - n_t as `cs`, `tanh_cs`.
template <typename scalar_t>
void dispatch_forward(int variant, long T, long B, long H, const scalar_t* xw, const scalar_t* h_0,
                      const scalar_t* c_0, const scalar_t* w_hh, const scalar_t* peep, const std::uint8_t* mask,
                      int keep, int threads, scalar_t* y, scalar_t* cs, scalar_t* acts, scalar_t* tanh_cs) {
  if (variant == RNN_TANH || variant == RNN_RELU) {
    rnn_forward<scalar_t>(variant == RNN_RELU, T, B, H, xw, h_0, w_hh, mask, threads, y);
  } else if (variant == GRU) {
    gru_forward<scalar_t>(T, B, H, xw, h_0, w_hh, peep, mask, keep, threads, y, acts, cs, tanh_cs);
  } else {
    forward<scalar_t>(variant, T, B, H, xw, h_0, c_0, w_hh, peep, mask, keep, threads, y, cs, acts, tanh_cs);
  }
}

}  // namespace

extern "C" {

int lstmlib_native_version() { return 1; }

void lstmlib_forward_f32(int variant, long T, long B, long H, const float* xw, const float* h_0, const float* c_0,
                         const float* w_hh, const float* peep, const std::uint8_t* mask, int keep, int threads,
                         float* y, float* cs, float* acts, float* tanh_cs) {
  dispatch_forward<float>(variant, T, B, H, xw, h_0, c_0, w_hh, peep, mask, keep, threads, y, cs, acts, tanh_cs);
}

void lstmlib_forward_f64(int variant, long T, long B, long H, const double* xw, const double* h_0,
                         const double* c_0, const double* w_hh, const double* peep, const std::uint8_t* mask,
                         int keep, int threads, double* y, double* cs, double* acts, double* tanh_cs) {
  dispatch_forward<double>(variant, T, B, H, xw, h_0, c_0, w_hh, peep, mask, keep, threads, y, cs, acts, tanh_cs);
}

void lstmlib_backward_f32(int variant, long T, long B, long H, const float* acts, const float* cs,
                          const float* tanh_cs, const float* peep, const float* dy, const float* dh_n,
                          const float* dc_n, const float* w_hh, const std::uint8_t* mask, int threads,
                          float* dgates, float* dh, float* dc, float* dpeep) {
  backward<float>(variant, T, B, H, acts, cs, tanh_cs, peep, dy, dh_n, dc_n, w_hh, mask, threads, dgates, dh, dc, dpeep);
}

void lstmlib_backward_f64(int variant, long T, long B, long H, const double* acts, const double* cs,
                          const double* tanh_cs, const double* peep, const double* dy, const double* dh_n,
                          const double* dc_n, const double* w_hh, const std::uint8_t* mask, int threads,
                          double* dgates, double* dh, double* dc, double* dpeep) {
  backward<double>(variant, T, B, H, acts, cs, tanh_cs, peep, dy, dh_n, dc_n, w_hh, mask, threads, dgates, dh, dc, dpeep);
}

}  // extern "C"
