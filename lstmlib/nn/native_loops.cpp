// The time loops of lstmlib.nn's LSTM-family layers, in C++ (see lstmlib/nn/native.py).
//
// Python runs a recurrence as about ten tensor operations per step, each paying
// the interpreter and the dispatcher (several microseconds apiece); at the sizes
// the book trains (H <= 128) that overhead, not arithmetic, is most of the time.
// Here each step is one BLAS product (MKL's, the one PyTorch's CPU build links:
// `sgemm_`/`dgemm_`, or its packed-weight `cblas_sgemm_compute` for large weights)
// and ONE fused pass over the gates: pre-activation -> nonlinearity -> cell ->
// output, written so the compiler vectorises it. No autograd, no tensors: plain
// pointers to contiguous row-major buffers that lstmlib/nn/native.py allocates
// with exactly the layouts of the Python loops, so the hand-written backward and
// every cache consumer are shared.
//
// Layouts (row-major, as in lstmlib/nn/lstm.py, peephole.py, coupled.py):
//   xw (T, B, G), G = K*H with K gate blocks (LSTM, peephole: i f g o; CIFG: i g o)
//   acts (n, B, A, H): the gates after their nonlinearities; A = K, or 5 for the
//                      peephole LSTM, whose 5th block is tanh(c_t)
//   cs (n + 1, B, H): c_0 then each c_t;  tanh_cs (n, B, H) (not for the peephole LSTM)
//   y (T, B, H);  mask (T, B) of 0/1 bytes or null;  n = T when keeping caches, else 1
//
// Float32 uses a polynomial exp (error about 2 ulp) so that the loops vectorise,
// and tanh(a) = 1 - 2 / (1 + exp(2a)), as the Python fast path does (2 sigmoid(2a) - 1);
// float64, the library's checking precision, uses the C library's exp and tanh.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

extern "C" {
// Fortran BLAS and MKL's packed GEMM, exported by PyTorch's libtorch_cpu (MKL builds).
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
            const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
size_t cblas_sgemm_pack_get_size(int identifier, int m, int n, int k);
void cblas_sgemm_pack(int layout, int identifier, int trans, int m, int n, int k, float alpha, const float* src,
                      int ld, float* dest);
void cblas_sgemm_compute(int layout, int transa, int transb, int m, int n, int k, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc);
}

namespace {

constexpr int kColMajor = 102, kNoTrans = 111, kTrans = 112, kPacked = 151, kAMatrix = 161;

enum Variant { LSTM = 0, PEEPHOLE = 1, COUPLED = 2 };

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

// ---- the step product: C (B rows, ldc apart) += h (B, H) @ W^T, W: (G, H) ------------------------
// Column-major view: C^T (G x B) += W (G x H) * h^T (H x B). How W is laid out for MKL (measured, one
// thread, benchmarks/README.md): PLAIN reads the row-major W as a transpose; TRANSPOSED copies W^T once
// per sequence (faster for B = 1, a matrix-vector product); PACKED (float32) uses MKL's packed format.

enum Layout { PLAIN = 0, TRANSPOSED = 1, PACKED = 2 };

inline void gemm(const char* ta, const char* tb, int m, int n, int k, const float* a, int lda, const float* b,
                 int ldb, float beta, float* c, int ldc) {
  const float one = 1.0f;
  sgemm_(ta, tb, &m, &n, &k, &one, a, &lda, b, &ldb, &beta, c, &ldc);
}

inline void gemm(const char* ta, const char* tb, int m, int n, int k, const double* a, int lda, const double* b,
                 int ldb, double beta, double* c, int ldc) {
  const double one = 1.0;
  dgemm_(ta, tb, &m, &n, &k, &one, a, &lda, b, &ldb, &beta, c, &ldc);
}

// Matrix-vector products for B = 1, written out: MKL's gemv runs at 60-80% of their speed on these sizes
// (one thread, H = 128..1024: 4.7 vs 3.7 us, 21 vs 14 us, 82 vs 59 us). 256-bit vectors, 8 rows at a time.
typedef float Vec8f __attribute__((vector_size(32)));
typedef double Vec4d __attribute__((vector_size(32)));
template <typename scalar_t>
struct VecOf;
template <>
struct VecOf<float> {
  using type = Vec8f;
};
template <>
struct VecOf<double> {
  using type = Vec4d;
};
template <typename scalar_t>
using Vec = typename VecOf<scalar_t>::type;

// y[g] += sum_k W[g, k] x[k], W: (G, H) row-major
template <typename scalar_t>
void gemv_rows(long G, long H, const scalar_t* __restrict W, const scalar_t* __restrict x, scalar_t* __restrict y) {
  constexpr int R = 8, L = 32 / sizeof(scalar_t);
  long g = 0;
  for (; g + R <= G; g += R) {
    Vec<scalar_t> acc[R] = {};
    long k = 0;
    for (; k + L <= H; k += L) {
      Vec<scalar_t> xv;
      std::memcpy(&xv, x + k, sizeof xv);
      for (int r = 0; r < R; ++r) {
        Vec<scalar_t> w;
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
  for (; g < G; ++g) {
    scalar_t sum = 0;
    for (long k = 0; k < H; ++k) sum += W[g * H + k] * x[k];
    y[g] += sum;
  }
}

// y[k] += sum_g x[g] W[g, k], W: (G, H) row-major (y = W^T x)
template <typename scalar_t>
void gemv_cols(long G, long H, const scalar_t* __restrict W, const scalar_t* __restrict x, scalar_t* __restrict y) {
  constexpr int R = 8;
  long g = 0;
  for (; g + R <= G; g += R) {
    const scalar_t* w = W + g * H;
    for (long k = 0; k < H; ++k) {
      scalar_t sum = 0;
      for (int r = 0; r < R; ++r) sum += x[g + r] * w[r * H + k];
      y[k] += sum;
    }
  }
  for (; g < G; ++g)
    for (long k = 0; k < H; ++k) y[k] += x[g] * W[g * H + k];
}

template <typename scalar_t>
struct StepProduct {
  int G, H, B, layout;
  const scalar_t* w;
  std::vector<scalar_t> copy;  // W^T (H, G) row-major, or MKL's packed W
  StepProduct(const scalar_t* w_, int G_, int H_, int B_, int layout_) : G(G_), H(H_), B(B_), layout(layout_), w(w_) {
    if (layout == PACKED && !std::is_same<scalar_t, float>::value) layout = PLAIN;
    if (layout == TRANSPOSED) {
      copy.resize(static_cast<size_t>(G) * H);
      for (long g = 0; g < G; ++g)
        for (long k = 0; k < H; ++k) copy[k * G + g] = w[g * H + k];
    } else if (layout == PACKED) {
      copy.resize(cblas_sgemm_pack_get_size(kAMatrix, G, B, H) / sizeof(float) + 1);
      cblas_sgemm_pack(kColMajor, kAMatrix, kTrans, G, B, H, 1.0f, reinterpret_cast<const float*>(w), H,
                       reinterpret_cast<float*>(copy.data()));
    }
  }
  void operator()(const scalar_t* h, scalar_t* c, int ldc, bool accumulate) const {
    const scalar_t beta = accumulate ? 1 : 0;
    if (layout == PACKED) {
      cblas_sgemm_compute(kColMajor, kPacked, kNoTrans, G, B, H, reinterpret_cast<const float*>(copy.data()), G,
                          reinterpret_cast<const float*>(h), H, static_cast<float>(beta),
                          reinterpret_cast<float*>(c), ldc);
    } else if (layout == TRANSPOSED) {
      gemm("N", "N", G, B, H, copy.data(), G, h, H, beta, c, ldc);
    } else if (B == 1) {
      if (!accumulate) std::memset(c, 0, sizeof(scalar_t) * G);
      gemv_rows<scalar_t>(G, H, w, h, c);
    } else {
      gemm("T", "N", G, B, H, w, H, h, H, beta, c, ldc);
    }
  }
};

// dh (B, H) (+)= dgates (B, G) @ W, W: (G, H). Column-major: dh^T (H x B) = W^T (H x G) * dgates^T (G x B).
template <typename scalar_t>
void gemm_nn(int H, int B, int G, const scalar_t* w, const scalar_t* dg, scalar_t* out, bool accumulate) {
  if (B == 1) {
    if (!accumulate) std::memset(out, 0, sizeof(scalar_t) * H);
    return gemv_cols<scalar_t>(G, H, w, dg, out);
  }
  gemm("N", "N", H, B, G, w, H, dg, G, static_cast<scalar_t>(accumulate ? 1 : 0), out, H);
}

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
// mask_t: (B,) bytes or null. Used by forward() and, one step at a time, by lstmlib/nn/native.py.
template <typename scalar_t>
void pointwise_step(int variant, long B, long H, const scalar_t* pre, scalar_t* act, const scalar_t* c_prev, const scalar_t* h_prev,
                    const scalar_t* peep, const std::uint8_t* mask_t, scalar_t* c_out, scalar_t* tanh_c,
                    scalar_t* y_t) {
  const long K = variant == COUPLED ? 3 : 4;
  const long A = variant == PEEPHOLE ? 5 : K;
  const scalar_t* w_ci = peep;
  const scalar_t* w_cf = peep ? peep + H : nullptr;
  const scalar_t* w_co = peep ? peep + 2 * H : nullptr;
  for (long b = 0; b < B; ++b) {
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
  }
}

template <typename scalar_t>
void forward(int variant, long T, long B, long H, const scalar_t* xw, const scalar_t* h_0, const scalar_t* c_0,
             const scalar_t* w_hh, const scalar_t* peep, const std::uint8_t* mask, bool keep, int layout,
             scalar_t* y, scalar_t* cs, scalar_t* acts, scalar_t* tanh_cs) {
  const long K = variant == COUPLED ? 3 : 4;
  const long A = variant == PEEPHOLE ? 5 : K;  // blocks per row of acts
  const long G = K * H;
  const StepProduct<scalar_t> product(w_hh, static_cast<int>(G), static_cast<int>(H), static_cast<int>(B), layout);
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
    // pre-activations xw_t + h_{t-1} W_hh^T
    std::memcpy(pre, xw + t * B * G, sizeof(scalar_t) * B * G);
    product(h_prev, pre, static_cast<int>(G), true);
    pointwise_step(variant, B, H, pre, act, c_prev, h_prev, peep, mask ? mask + t * B : nullptr, c_out, tanh_c, y_t);
    h_prev = y_t;
  }
  if (!keep) std::memcpy(cs, scratch + ((T - 1) % 2) * B * H, sizeof(scalar_t) * B * H);  // c_T
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

template <typename scalar_t>
void peephole_backward_row(long H, const scalar_t* __restrict r, const scalar_t* __restrict cp,
                           const scalar_t* __restrict w_ci, const scalar_t* __restrict w_cf,
                           const scalar_t* __restrict w_co, const scalar_t* __restrict dh, scalar_t* __restrict dc,
                           scalar_t* __restrict da) {
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
// dy (T, B, H), dh_n, dc_n (B, H) -> dgates (T, B, K H), and dh, dc (B, H): dL/dh_0, dL/dc_0.
template <typename scalar_t>
void backward(int variant, long T, long B, long H, const scalar_t* acts, const scalar_t* cs,
              const scalar_t* tanh_cs, const scalar_t* peep, const scalar_t* dy, const scalar_t* dh_n,
              const scalar_t* dc_n, const scalar_t* w_hh, const std::uint8_t* mask, scalar_t* dgates, scalar_t* dh,
              scalar_t* dc) {
  const long K = variant == COUPLED ? 3 : 4;
  const long A = variant == PEEPHOLE ? 5 : K;
  const long G = K * H;
  std::vector<scalar_t> frozen(mask ? B * H : 0);  // what frozen rows hand straight to step t-1
  scalar_t* dh_frozen = mask ? frozen.data() : nullptr;
  const scalar_t* dy_last = dy + (T - 1) * B * H;
  for (long k = 0; k < B * H; ++k) dh[k] = dh_n[k] + dy_last[k], dc[k] = dc_n[k];
  for (long t = T - 1; t >= 0; --t) {
    scalar_t* dg = dgates + t * B * G;
    for (long b = 0; b < B; ++b) {
      const scalar_t* r = acts + (t * B + b) * A * H;
      const scalar_t* cp = cs + (t * B + b) * H;
      const scalar_t* u = tanh_cs ? tanh_cs + (t * B + b) * H : nullptr;
      scalar_t* d = dg + b * G;
      scalar_t* dhb = dh + b * H;
      scalar_t* dcb = dc + b * H;
      if (mask && !mask[t * B + b]) {  // a frozen step: dh and dc pass to step t-1 untouched
        std::memcpy(dh_frozen + b * H, dhb, sizeof(scalar_t) * H);
        std::memset(d, 0, sizeof(scalar_t) * G);
        continue;
      }
      if (mask) std::memset(dh_frozen + b * H, 0, sizeof(scalar_t) * H);
      if (variant == LSTM) {
        lstm_backward_row(H, r, cp, u, dhb, dcb, d);
      } else if (variant == PEEPHOLE) {
        peephole_backward_row(H, r, cp, peep, peep + H, peep + 2 * H, dhb, dcb, d);
      } else {
        coupled_backward_row(H, r, cp, u, dhb, dcb, d);
      }
    }
    // dh_{t-1} = da_t W_hh + dy_{t-1} (+ what a frozen row handed on)
    const int h = static_cast<int>(H), b = static_cast<int>(B), g = static_cast<int>(G);
    if (t > 0) {
      const scalar_t* dy_prev = dy + (t - 1) * B * H;
      for (long k = 0; k < B * H; ++k) dh[k] = mask ? dy_prev[k] + dh_frozen[k] : dy_prev[k];
      gemm_nn<scalar_t>(h, b, g, w_hh, dg, dh, true);
    } else if (mask) {
      std::memcpy(dh, dh_frozen, sizeof(scalar_t) * B * H);
      gemm_nn<scalar_t>(h, b, g, w_hh, dg, dh, true);
    } else {
      gemm_nn<scalar_t>(h, b, g, w_hh, dg, dh, false);
    }
  }
}

}  // namespace

extern "C" {

int lstmlib_native_version() { return 1; }

void lstmlib_pointwise_f32(int variant, long B, long H, const float* pre, float* act, const float* c_prev, const float* h_prev,
                           const float* peep, const std::uint8_t* mask_t, float* c_out, float* tanh_c, float* y_t) {
  pointwise_step<float>(variant, B, H, pre, act, c_prev, h_prev, peep, mask_t, c_out, tanh_c, y_t);
}

void lstmlib_pointwise_f64(int variant, long B, long H, const double* pre, double* act, const double* c_prev, const double* h_prev,
                           const double* peep, const std::uint8_t* mask_t, double* c_out, double* tanh_c,
                           double* y_t) {
  pointwise_step<double>(variant, B, H, pre, act, c_prev, h_prev, peep, mask_t, c_out, tanh_c, y_t);
}

void lstmlib_forward_f32(int variant, long T, long B, long H, const float* xw, const float* h_0, const float* c_0,
                         const float* w_hh, const float* peep, const std::uint8_t* mask, int keep, int layout,
                         float* y, float* cs, float* acts, float* tanh_cs) {
  forward<float>(variant, T, B, H, xw, h_0, c_0, w_hh, peep, mask, keep, layout, y, cs, acts, tanh_cs);
}

void lstmlib_forward_f64(int variant, long T, long B, long H, const double* xw, const double* h_0,
                         const double* c_0, const double* w_hh, const double* peep, const std::uint8_t* mask,
                         int keep, int layout, double* y, double* cs, double* acts, double* tanh_cs) {
  forward<double>(variant, T, B, H, xw, h_0, c_0, w_hh, peep, mask, keep, layout, y, cs, acts, tanh_cs);
}

void lstmlib_backward_f32(int variant, long T, long B, long H, const float* acts, const float* cs,
                          const float* tanh_cs, const float* peep, const float* dy, const float* dh_n,
                          const float* dc_n, const float* w_hh, const std::uint8_t* mask, float* dgates, float* dh,
                          float* dc) {
  backward<float>(variant, T, B, H, acts, cs, tanh_cs, peep, dy, dh_n, dc_n, w_hh, mask, dgates, dh, dc);
}

void lstmlib_backward_f64(int variant, long T, long B, long H, const double* acts, const double* cs,
                          const double* tanh_cs, const double* peep, const double* dy, const double* dh_n,
                          const double* dc_n, const double* w_hh, const std::uint8_t* mask, double* dgates,
                          double* dh, double* dc) {
  backward<double>(variant, T, B, H, acts, cs, tanh_cs, peep, dy, dh_n, dc_n, w_hh, mask, dgates, dh, dc);
}

}  // extern "C"
