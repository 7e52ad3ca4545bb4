// Minutia Cylinder-Code kernels: cylinder creation (MCC section 3), local similarity
// (section 4, bit form) and relaxation consolidation (section 5.2). The numpy oracle is
// matcher/matching/reference.py; tests/matcher/matching/test_parity.py holds them equal.
#include "mcc.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <tuple>

#if !BASMA_PORTABLE && defined(__AVX512F__) && defined(__AVX512VPOPCNTDQ__) && defined(__AVX512VBMI2__)
#define BASMA_AVX512_POPCNT 1
#define BASMA_AVX2 0
#include <immintrin.h>
#elif !BASMA_PORTABLE && defined(__AVX2__) && defined(__FMA__) && defined(__POPCNT__)
#define BASMA_AVX512_POPCNT 0
#define BASMA_AVX2 1
#include <immintrin.h>
#else
#define BASMA_AVX512_POPCNT 0
#define BASMA_AVX2 0
#endif

namespace basma {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoPi = 2.0 * kPi;
constexpr double kLn2 = 0.69314718055994530942;
// 2^f for |f| <= 1/2, to 2.2e-7 relative in floats: coefficients of f^0 .. f^5 fitted to
// minimise the largest relative error (a Taylor polynomial needs one more term for that).
constexpr float kExp2Poly[6] = {1.00000012f, 0.69314694f, 0.24022120f, 0.05550713f, 0.00967554f, 0.00132765f};
// d_phi(a, b) of MCC eq. 9: a - b wrapped into [-pi, pi). Every caller passes angles in
// [-pi, 2 pi), so a difference is within (-3 pi, 3 pi) and one correction step suffices.
inline double angle_diff(double a, double b) {
    double r = a - b;
    if (r >= kPi) {
        r -= kTwoPi;
    } else if (r < -kPi) {
        r += kTwoPi;
    }
    return r;
}

// Z(v, mu, tau) of MCC eq. 18.
inline double sigmoid(double v, double mu, double tau) { return 1.0 / (1.0 + std::exp(-tau * (v - mu))); }

struct Point {
    double x, y;
    bool operator<(const Point& o) const { return std::tie(x, y) < std::tie(o.x, o.y); }
    bool operator==(const Point& o) const { return x == o.x && y == o.y; }
};

inline double cross(const Point& o, const Point& a, const Point& b) {
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

// Convex hull, counter-clockwise, collinear points dropped (Andrew's monotone chain).
std::vector<Point> convex_hull(std::vector<Point> pts) {
    std::sort(pts.begin(), pts.end());
    pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
    if (pts.size() <= 2) return pts;
    std::vector<Point> lower, upper;
    for (const Point& p : pts) {
        while (lower.size() >= 2 && cross(lower[lower.size() - 2], lower.back(), p) <= 0) lower.pop_back();
        lower.push_back(p);
    }
    for (auto it = pts.rbegin(); it != pts.rend(); ++it) {
        while (upper.size() >= 2 && cross(upper[upper.size() - 2], upper.back(), *it) <= 0) upper.pop_back();
        upper.push_back(*it);
    }
    lower.pop_back();
    upper.pop_back();
    lower.insert(lower.end(), upper.begin(), upper.end());
    return lower;
}

// Inside the hull, or within `offset` of it: the enlarged hull of MCC section 3 (Omega). The
// SIMD builds run the same tests in hull_validity.
[[maybe_unused]] bool inside_hull(const std::vector<Point>& hull, double px, double py, double offset) {
    const std::size_t n = hull.size();
    if (n == 0) return false;
    if (n >= 3) {                                   // inside: left of every edge
        bool inside = true;
        for (std::size_t i = 0; i < n && inside; ++i) {
            const Point& a = hull[i];
            const Point& b = hull[(i + 1) % n];
            inside = (b.x - a.x) * (py - a.y) - (b.y - a.y) * (px - a.x) >= 0;
        }
        if (inside) return true;
    }
    const double offset2 = offset * offset;         // else: within offset of an edge
    for (std::size_t i = 0; i < n; ++i) {
        const Point& a = hull[i];
        const Point& b = hull[(i + 1) % n];
        const double ex = b.x - a.x, ey = b.y - a.y;
        const double rx = px - a.x, ry = py - a.y;
        const double length2 = ex * ex + ey * ey;
        double t = length2 > 0 ? (rx * ex + ry * ey) / length2 : 0.0;
        t = std::min(1.0, std::max(0.0, t));
        const double dx = px - (a.x + t * ex), dy = py - (a.y + t * ey);
        if (dx * dx + dy * dy <= offset2) return true;
    }
    return false;
}

#if BASMA_AVX512_POPCNT || BASMA_AVX2
// Vector operations the SIMD kernels share: the ones both instruction sets name alike come from
// one macro (P: _mm512 or _mm256; S: ps or pd).
#define BASMA_COMMON_LANE_OPS(P, S, T)                                                 \
    static V set(T x) { return P##_set1_##S(x); }                                      \
    static V add(V l, V r) { return P##_add_##S(l, r); }                               \
    static V sub(V l, V r) { return P##_sub_##S(l, r); }                               \
    static V mul(V l, V r) { return P##_mul_##S(l, r); }                               \
    static V div(V l, V r) { return P##_div_##S(l, r); }                               \
    static V fmadd(V a, V b, V c) { return P##_fmadd_##S(a, b, c); }                   \
    static V fnmadd(V a, V b, V c) { return P##_fnmadd_##S(a, b, c); }                \
    static V sqrt(V x) { return P##_sqrt_##S(x); }                                     \
    static V min(V l, V r) { return P##_min_##S(l, r); }                               \
    static V max(V l, V r) { return P##_max_##S(l, r); }

// Doubles, 8 lanes with AVX-512, 4 with AVX2; comparisons give a bit mask of the lanes.
struct DoubleLanes {
#if BASMA_AVX512_POPCNT
    using V = __m512d;
    static constexpr int width = 8;
    BASMA_COMMON_LANE_OPS(_mm512, pd, double)
    static V load(const double* p, int count) {
        return _mm512_maskz_loadu_pd(static_cast<__mmask8>(count >= 8 ? 0xFF : (1u << count) - 1u), p);
    }
    static unsigned ge(V l, V r) { return _mm512_cmp_pd_mask(l, r, _CMP_GE_OQ); }
    static unsigned le(V l, V r) { return _mm512_cmp_pd_mask(l, r, _CMP_LE_OQ); }
    static V load_floats(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
    static void storeu(double* p, V x) { _mm512_storeu_pd(p, x); }
#else
    using V = __m256d;
    static constexpr int width = 4;
    BASMA_COMMON_LANE_OPS(_mm256, pd, double)
    static V load(const double* p, int count) {
        if (count >= 4) return _mm256_loadu_pd(p);
        alignas(32) double part[4] = {0.0, 0.0, 0.0, 0.0};
        for (int l = 0; l < count; ++l) part[l] = p[l];
        return _mm256_load_pd(part);
    }
    static unsigned ge(V l, V r) { return static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(l, r, _CMP_GE_OQ))); }
    static unsigned le(V l, V r) { return static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(l, r, _CMP_LE_OQ))); }
    static V load_floats(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
    static void storeu(double* p, V x) { _mm256_storeu_pd(p, x); }
#endif
};
#endif

// Cell validity of MCC eq. 5 for the cells inside the base circle of one cylinder at once:
// inside the hull, or within `offset` of one of its edges (the enlarged hull Omega). The tests
// of inside_hull, edge by edge over a vector of cells; the distances are only computed for a
// vector with a cell outside the hull.
void hull_validity(const std::vector<Point>& hull, const double* px, const double* py, int cells, double offset,
                   std::uint8_t* ok) {
#if BASMA_AVX512_POPCNT || BASMA_AVX2
    const int n = static_cast<int>(hull.size());
    const double offset2 = offset * offset;
    using L = DoubleLanes;
    using Vec = L::V;
    constexpr int width = L::width;
    auto set = L::set;
    auto add = L::add;
    auto sub = L::sub;
    auto mul = L::mul;
    auto div = L::div;
    auto clamp01 = [](Vec x) { return L::min(L::set(1.0), L::max(L::set(0.0), x)); };
    constexpr unsigned all = (1u << width) - 1u;
    for (int q0 = 0; q0 < cells; q0 += width) {
        const int count = std::min(width, cells - q0);
        const Vec x = L::load(px + q0, count), y = L::load(py + q0, count);
        unsigned valid = n >= 3 ? all : 0u;
        for (int i = 0; i < n && n >= 3 && valid != 0; ++i) {     // inside: left of every edge
            const Point& a = hull[i];
            const Point& b = hull[(i + 1) % n];
            valid &= L::ge(sub(mul(set(b.x - a.x), sub(y, set(a.y))), mul(set(b.y - a.y), sub(x, set(a.x)))), set(0.0));
        }
        for (int i = 0; i < n && valid != all; ++i) {             // else: within offset of an edge
            const Point& a = hull[i];
            const Point& b = hull[(i + 1) % n];
            const double ex = b.x - a.x, ey = b.y - a.y, length2 = ex * ex + ey * ey;
            const Vec rx = sub(x, set(a.x)), ry = sub(y, set(a.y));
            const Vec t = length2 > 0 ? clamp01(div(add(mul(rx, set(ex)), mul(ry, set(ey))), set(length2))) : set(0.0);
            const Vec dx = sub(x, add(set(a.x), mul(t, set(ex)))), dy = sub(y, add(set(a.y), mul(t, set(ey))));
            valid |= L::le(add(mul(dx, dx), mul(dy, dy)), set(offset2));
        }
        for (int l = 0; l < count; ++l) ok[q0 + l] = (valid >> l) & 1u;
    }
#else
    for (int q = 0; q < cells; ++q) ok[q] = inside_hull(hull, px[q], py[q], offset);
#endif
}

// Whether (px, py) lies inside the hull (3 or more vertices) at least `depth` from every edge.
bool inside_by(const std::vector<Point>& hull, double px, double py, double depth) {
    const std::size_t n = hull.size();
    if (n < 3) return false;
    for (std::size_t i = 0; i < n; ++i) {
        const Point& a = hull[i];
        const Point& b = hull[(i + 1) % n];
        const double ex = b.x - a.x, ey = b.y - a.y;
        if (ex * (py - a.y) - ey * (px - a.x) < depth * std::sqrt(ex * ex + ey * ey)) return false;
    }
    return true;
}

void aligned_free(void* p) { std::free(p); }

// x wrapped into [-pi, pi) for |x| < 3 pi, without branches.
inline float wrap_pi(float x) {
    constexpr float kPiF = static_cast<float>(kPi), kTwoPiF = static_cast<float>(kTwoPi);
    return x - kTwoPiF * std::floor((x + kPiF) * (1.0f / kTwoPiF));
}


}  // namespace

const char* simd_name() { return BASMA_AVX512_POPCNT ? "avx512-vpopcntdq" : BASMA_AVX2 ? "avx2" : "scalar"; }

bool MccParams::operator==(const MccParams& o) const {
    return std::memcmp(this, &o, sizeof(MccParams)) == 0;
}

MccModel::MccModel(const MccParams& p) : params(p) {
    if (p.spatial_cells < 2 || p.spatial_cells > 32 || p.angular_cells < 1 || p.angular_cells > 16) {
        throw std::invalid_argument("spatial_cells must be 2..32 and angular_cells 1..16");
    }
    const int ns = p.spatial_cells;
    const double step = 2.0 * p.radius_px / ns;
    u.resize(ns * ns);
    v.resize(ns * ns);
    for (int i = 0; i < ns; ++i) {
        for (int j = 0; j < ns; ++j) {
            const int q = i * ns + j;                       // MCC eq. 1: cell centres
            u[q] = (i - (ns - 1) / 2.0) * step;
            v[q] = (j - (ns - 1) / 2.0) * step;
            if (u[q] * u[q] + v[q] * v[q] <= p.radius_px * p.radius_px) circle_index.push_back(q);
        }
    }
    // Only cells inside the base circle are stored: the others are never valid (eq. 5).
    circle_cells = static_cast<int>(circle_index.size());
    words = (circle_cells * p.angular_cells + 63) / 64;
    row_first.assign(ns, ns);                            // per grid row: its columns inside the circle
    row_last.assign(ns, -1);
    row_start.assign(ns, 0);
    for (int r = circle_cells - 1; r >= 0; --r) {
        const int i = circle_index[r] / ns, j = circle_index[r] % ns;
        row_first[i] = std::min(row_first[i], j);
        row_last[i] = std::max(row_last[i], j);
        row_start[i] = r;
    }
    root.resize(2 * circle_cells * p.angular_cells + 1);   // bit-vector norms: sqrt(popcount)
    for (std::size_t i = 0; i < root.size(); ++i) root[i] = std::sqrt(static_cast<double>(i));
}

std::size_t Prepared::Group::nbytes(int words) const {
    return (by_angle.size() * sizeof(int) + sorted_angle.size() * sizeof(double) +
            (value_count.size() + valid_count.size()) * sizeof(long long) + value_root.size() * sizeof(double)) +
           (bits ? static_cast<std::size_t>(words) * (full ? 1 : 2) * stride * sizeof(std::uint64_t) : 0);
}

std::size_t Prepared::nbytes() const {
    const std::size_t words = static_cast<std::size_t>(model->words);
    return sizeof(Prepared) + (X.size() + Y.size() + radial.size()) * sizeof(float) +
           (angled.size() + sorted_angle.size()) * sizeof(double) + usable.size() + by_angle.size() * sizeof(int) +
           (value_count.size() + valid_count.size()) * sizeof(int) + static_cast<std::size_t>(n) * 2 * words * 8 +
           groups[0].nbytes(model->words) + groups[1].nbytes(model->words);
}

Prepared prepare(std::shared_ptr<const MccModel> model, const double* x, const double* y, const float* angle,
                 int n) {
    const MccParams& p = model->params;
    Prepared t;
    t.model = model;
    t.n = n;
    const int words = model->words;
    const int nd = p.angular_cells;
    t.X.resize(n);
    t.Y.resize(n);
    t.angled.resize(n);
    std::vector<double> Xd(n), Yd(n);   // the as-viewed frame, exactly, while building
    t.usable.assign(n, 0);
    t.value_count.assign(n, 0);
    t.valid_count.assign(n, 0);
    std::vector<Point> pts(n);
    for (int i = 0; i < n; ++i) {
        Xd[i] = x[i];
        Yd[i] = -y[i];
        t.angled[i] = angle[i];
        t.X[i] = static_cast<float>(Xd[i]);
        t.Y[i] = static_cast<float>(Yd[i]);
        pts[i] = {Xd[i], Yd[i]};
    }
    const std::size_t bytes = (std::max<std::size_t>(1, static_cast<std::size_t>(n) * 2 * words) * 8 + 63) / 64 * 64;
    void* raw = std::aligned_alloc(64, bytes);
    if (raw == nullptr) throw std::bad_alloc();
    std::memset(raw, 0, bytes);
    t.bits = std::unique_ptr<std::uint64_t[], void (*)(void*)>(static_cast<std::uint64_t*>(raw), aligned_free);

    const std::vector<Point> hull = convex_hull(pts);
    const double reach = 3.0 * p.sigma_spatial_px;
    const double delta_d = kTwoPi / nd;
    const double norm_s = 1.0 / (p.sigma_spatial_px * std::sqrt(kTwoPi));
    const double two_var_s = 2.0 * p.sigma_spatial_px * p.sigma_spatial_px;
    const double root2_sd = p.sigma_direction_rad * std::sqrt(2.0);
    const double neighbourhood2 = (p.radius_px + reach) * (p.radius_px + reach);
    const int ns = p.spatial_cells;
    const double step = 2.0 * p.radius_px / ns, centre = (ns - 1) / 2.0;
    const int cells = model->circle_cells * nd;
    // Sums of eq. 4 in the stored order, cell c = k * C + r (r: the r-th cell inside the base circle).
    std::vector<double> section(nd), directional(nd), sum(static_cast<std::size_t>(cells) + 8);
    std::vector<double> along_u(ns), along_v(ns), gauss_u(ns), gauss_v(ns);
    std::vector<int> top;
    const double ratio_step = std::exp(-2.0 * step * step / two_var_s);
    const int circle_cells = model->circle_cells;
    std::vector<std::uint64_t> section_valid((circle_cells + 63) / 64);
    std::vector<std::uint8_t> cell_ok(circle_cells);   // validity of the cells inside the base circle
    std::vector<double> px(circle_cells), py(circle_cells);
    for (int k = 0; k < nd; ++k) section[k] = -kPi + (k + 0.5) * delta_d;   // MCC eq. 3
    const double reach2 = reach * reach;

    for (int m = 0; m < n; ++m) {
        const double c = std::cos(t.angled[m]), s = std::sin(t.angled[m]);
        for (int r = 0; r < circle_cells; ++r) {                            // MCC eq. 2: cell centres
            const int q = model->circle_index[r];
            px[r] = Xd[m] + model->u[q] * c - model->v[q] * s;
            py[r] = Yd[m] + model->u[q] * s + model->v[q] * c;
        }
        if (inside_by(hull, Xd[m], Yd[m], p.radius_px - p.hull_offset_px + 1e-6)) {
            // The whole base circle lies within hull_offset of the hull: every cell is valid.
            std::fill(cell_ok.begin(), cell_ok.end(), 1);
        } else {
            hull_validity(hull, px.data(), py.data(), circle_cells, p.hull_offset_px, cell_ok.data());
        }
        int valid_cells = 0;
        for (int r = 0; r < circle_cells; ++r) valid_cells += cell_ok[r];
        std::fill(sum.begin(), sum.end(), 0.0);
        int contributors = 0;
        for (int o = 0; o < n; ++o) {
            if (o == m) continue;
            const double mx = Xd[o] - Xd[m], my = Yd[o] - Yd[m];
            if (mx * mx + my * my > neighbourhood2) continue;               // cannot reach any cell
            ++contributors;
            const double d_theta = angle_diff(t.angled[m], t.angled[o]);
            // MCC eq. 10: the area of G_D over each section; neighbouring sections share a bound
            // unless the window wraps around -pi between them.
            double lower = 0.0, previous_alpha = 0.0;
            for (int k = 0; k < nd; ++k) {
                const double alpha = angle_diff(section[k], d_theta);
                if (k == 0 || alpha < previous_alpha) lower = std::erf((alpha - delta_d / 2) / root2_sd);
                const double upper = std::erf((alpha + delta_d / 2) / root2_sd);
                directional[k] = 0.5 * (upper - lower);
                lower = upper;
                previous_alpha = alpha;
            }
            // MCC eq. 6-7 in the minutia's frame, where the neighbour sits at (du, dv) and cell
            // (i, j) at (u_i, v_j): the Gaussian of the distance is the product of one factor per
            // axis, so a neighbour costs one exp per row and per column of the cells within
            // 3 sigma_S of it (its box, one cell of margin), and each row is one contiguous
            // multiply-add over its (cell, section) sums.
            const double du = mx * c + my * s, dv = -mx * s + my * c;
            const int i0 = std::max(0, static_cast<int>(std::floor((du - reach) / step + centre)) - 1);
            const int i1 = std::min(ns - 1, static_cast<int>(std::ceil((du + reach) / step + centre)) + 1);
            const int j0 = std::max(0, static_cast<int>(std::floor((dv - reach) / step + centre)) - 1);
            const int j1 = std::min(ns - 1, static_cast<int>(std::ceil((dv + reach) / step + centre)) + 1);
            // The Gaussian along each axis by its recurrence on the cell grid: with e_i the offset of
            // row i, g_(i+1) = g_i * r_i and r_(i+1) = r_i * exp(-step^2 / sigma^2), two exps per axis.
            auto gaussians = [&](int first, int last, double offset, double* squares, double* out) {
                double e = (first - centre) * step - offset;
                double g = std::exp(-e * e / two_var_s);
                double r = std::exp(-(2.0 * e * step + step * step) / two_var_s);
                for (int i = first; i <= last; ++i) {
                    const double here = (i - centre) * step - offset;
                    squares[i] = here * here;
                    out[i] = g;
                    g *= r;
                    r *= ratio_step;
                }
            };
            gaussians(i0, i1, du, along_u.data(), gauss_u.data());
            gaussians(j0, j1, dv, along_v.data(), gauss_v.data());
            for (int i = i0; i <= i1; ++i) {
                const double room = reach2 - along_u[i];                    // (v_j - dv)^2 allowed
                if (room < 0 || model->row_first[i] > model->row_last[i]) continue;
                int first = std::max(j0, model->row_first[i]), last = std::min(j1, model->row_last[i]);
#if BASMA_AVX512_POPCNT
                // The columns within reach: the first and the last of the row's cells whose
                // (v_j - dv)^2 is at most `room` (a mask of up to 32 cells, 8 compares at once).
                if (first > last) continue;
                const int width = last - first + 1;
                std::uint32_t near = 0;
                for (int b = 0; b < width; b += 8) {
                    const __mmask8 cells8 = static_cast<__mmask8>(width - b >= 8 ? 0xFF : (1u << (width - b)) - 1u);
                    near |= static_cast<std::uint32_t>(_mm512_mask_cmp_pd_mask(
                                cells8, _mm512_maskz_loadu_pd(cells8, along_v.data() + first + b), _mm512_set1_pd(room),
                                _CMP_LE_OQ)) << b;
                }
                if (near == 0) continue;
                last = first + 31 - __builtin_clz(near);
                first += __builtin_ctz(near);
#else
                while (first <= last && along_v[first] > room) ++first;
                while (last >= first && along_v[last] > room) --last;
                if (first > last) continue;
#endif
                const double weight = norm_s * gauss_u[i];
                const int r0 = model->row_start[i] + first - model->row_first[i];
                const double* g = gauss_v.data() + first;
                const int span = last - first + 1;
#if BASMA_AVX512_POPCNT
                // 8 cells at a time, the row's Gaussians loaded once for the N_D sections (a
                // fused multiply-add per cell, as the compiler makes of the loop below).
                // The sums are loaded and stored whole (8 cells; the Gaussians of the cells past
                // the span are zeros, so those cells are stored unchanged, and `sum` has 8 cells
                // of slack): unmasked stores forward to the next neighbour's loads of the same cells.
                for (int e0 = 0; e0 < span; e0 += 8) {
                    const __mmask8 cells8 = static_cast<__mmask8>(span - e0 >= 8 ? 0xFF : (1u << (span - e0)) - 1u);
                    const __m512d gv = _mm512_maskz_loadu_pd(cells8, g + e0);
                    for (int k = 0; k < nd; ++k) {
                        double* out = sum.data() + static_cast<std::size_t>(k) * circle_cells + r0 + e0;
                        const __m512d wk = _mm512_set1_pd(weight * directional[k]);
                        _mm512_storeu_pd(out, _mm512_fmadd_pd(wk, gv, _mm512_loadu_pd(out)));
                    }
                }
#elif BASMA_AVX2
                // 4 cells at a time, the same way: the Gaussians past the span loaded as zeros,
                // the sums loaded and stored whole (`sum` has 8 cells of slack).
                for (int e0 = 0; e0 < span; e0 += 4) {
                    const __m256i cells4 = _mm256_cmpgt_epi64(_mm256_set1_epi64x(span - e0), _mm256_setr_epi64x(0, 1, 2, 3));
                    const __m256d gv = _mm256_maskload_pd(g + e0, cells4);
                    for (int k = 0; k < nd; ++k) {
                        double* out = sum.data() + static_cast<std::size_t>(k) * circle_cells + r0 + e0;
                        const __m256d wk = _mm256_set1_pd(weight * directional[k]);
                        _mm256_storeu_pd(out, _mm256_fmadd_pd(wk, gv, _mm256_loadu_pd(out)));
                    }
                }
#else
                for (int k = 0; k < nd; ++k) {
                    const double wk = weight * directional[k];
                    double* out = sum.data() + static_cast<std::size_t>(k) * circle_cells + r0;
                    for (int e = 0; e < span; ++e) out[e] += wk * g[e];
                }
#endif
            }
        }
        // Psi_Bit over the sums in stored order; validity is the same in every section.
        std::uint64_t* values = t.bits.get() + static_cast<std::size_t>(m) * 2 * words;
        std::uint64_t* valid = values + words;
        const double threshold = p.bit_threshold;
        for (int w = 0; w * 64 < cells; ++w) {
            const int end = std::min(64, cells - w * 64);
            const double* s = sum.data() + static_cast<std::size_t>(w) * 64;
            std::uint64_t on = 0;
            int b = 0;
#if BASMA_AVX2 || BASMA_AVX512_POPCNT
            const __m256d limit = _mm256_set1_pd(threshold);
            for (; b + 4 <= end; b += 4) {
                on |= static_cast<std::uint64_t>(_mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(s + b), limit, _CMP_GE_OQ))) << b;
            }
#endif
            for (; b < end; ++b) on |= static_cast<std::uint64_t>(s[b] >= threshold) << b;
            values[w] = on;
        }
        for (int w = 0; w * 64 < circle_cells; ++w) {                 // the C validity bits of a section ...
            std::uint64_t bits = 0;                                    // (a register per word: no chain through memory)
            for (int r = w * 64; r < std::min(circle_cells, w * 64 + 64); ++r) bits |= static_cast<std::uint64_t>(cell_ok[r]) << (r & 63);
            section_valid[w] = bits;
        }
        for (int k = 0; k < nd; ++k) {                                   // ... copied at bit k * C
            for (int w = 0; w < static_cast<int>(section_valid.size()); ++w) {
                const int at = k * circle_cells + w * 64, shift = at & 63;
                valid[at >> 6] |= section_valid[w] << shift;
                if (shift != 0 && (at >> 6) + 1 < words) valid[(at >> 6) + 1] |= section_valid[w] >> (64 - shift);
            }
        }
        for (int w = 0; w < words; ++w) values[w] &= valid[w];
        if (p.top_cells > 0) {
            // Fixed-weight variant (the index codes): of the cells set above, only the top_cells
            // largest sums, ties by cell, so that codes of any density compare by their overlap.
            top.clear();
            for (int c = 0; c < cells; ++c) {
                if (values[c >> 6] >> (c & 63) & 1) top.push_back(c);
            }
            if (static_cast<int>(top.size()) > p.top_cells) {
                const double* s = sum.data();
                std::nth_element(top.begin(), top.begin() + p.top_cells, top.end(),
                                 [s](int l, int r) { return s[l] > s[r] || (s[l] == s[r] && l < r); });
                std::fill(values, values + words, 0);
                for (int i = 0; i < p.top_cells; ++i) values[top[i] >> 6] |= std::uint64_t{1} << (top[i] & 63);
            }
        }
        int value_count = 0;
        for (int w = 0; w < words; ++w) value_count += __builtin_popcountll(values[w]);
        t.value_count[m] = value_count;
        t.valid_count[m] = valid_cells * nd;
        t.usable[m] = valid_cells >= p.min_valid_cells * model->circle_cells && contributors >= p.min_contributors;
        t.usable_count += t.usable[m];
    }

    for (int i = 0; i < n; ++i) {
        if (t.usable[i]) t.by_angle.push_back(i);
    }
    std::stable_sort(t.by_angle.begin(), t.by_angle.end(), [&t](int l, int r) { return t.angled[l] < t.angled[r]; });
    for (int i : t.by_angle) t.sorted_angle.push_back(t.angled[i]);
#if BASMA_AVX512_POPCNT || BASMA_AVX2
    constexpr int lanes = Prepared::kLanes;
    for (int kind = 0; kind < 2; ++kind) {
        Prepared::Group& group = t.groups[kind];
        group.full = kind == 0;
        for (int i : t.by_angle) {
            if ((t.valid_count[i] == cells) == group.full) group.by_angle.push_back(i);
        }
        const int count = group.count = static_cast<int>(group.by_angle.size());
        group.stride = (2 * count + lanes + lanes - 1) / lanes * lanes;
        group.by_angle.resize(group.stride, 0);
        group.sorted_angle.assign(group.stride, 0.0);
        group.value_count.assign(group.stride, 0);
        group.valid_count.assign(group.stride, 0);
        group.value_root.assign(group.stride, 0.0);
        const int planes = group.full ? 1 : 2;                     // values, and validity
        const std::size_t bytes = std::max<std::size_t>(64, static_cast<std::size_t>(words) * planes * group.stride * 8);
        void* raw_group = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
        if (raw_group == nullptr) throw std::bad_alloc();
        std::memset(raw_group, 0, bytes);
        group.bits = std::unique_ptr<std::uint64_t[], void (*)(void*)>(static_cast<std::uint64_t*>(raw_group), aligned_free);
        for (int k = 0; k < 2 * count; ++k) {                      // the sequence, twice
            const int i = group.by_angle[k % count];
            group.by_angle[k] = i;
            group.sorted_angle[k] = t.angled[i];
            group.value_count[k] = t.value_count[i];
            group.valid_count[k] = t.valid_count[i];
            group.value_root[k] = model->root[t.value_count[i]];
            for (int w = 0; w < words; ++w) {
                *const_cast<std::uint64_t*>(group.values(w, k)) = t.values(i)[w];
                if (!group.full) *const_cast<std::uint64_t*>(group.valid(w, k)) = t.valid(i)[w];
            }
        }
    }
#endif

    const std::size_t n2 = static_cast<std::size_t>(n) * n;
    t.radial.assign(n2, 0.0f);
    for (int i = 0; i < n; ++i) {
        for (int k = i; k < n; ++k) {
            // MCC eq. 20: d_R, the minutia direction against the segment to the other minutia;
            // the segment from k to i points the opposite way (one atan2 for both).
            const double forward = std::atan2(Yd[k] - Yd[i], Xd[k] - Xd[i]);
            const double backward = forward > 0 ? forward - kPi : forward + kPi;
            // Row k holds d_R(m_i, m_k) over i (the transpose of eq. 20's table): the
            // compatibility kernel reads it so, to write rho by columns (see compatibility()).
            t.radial[static_cast<std::size_t>(k) * n + i] = static_cast<float>(angle_diff(t.angled[i], forward));
            if (k != i) t.radial[static_cast<std::size_t>(i) * n + k] = static_cast<float>(angle_diff(t.angled[k], backward));
        }
    }
    return t;
}

void Scratch::reserve(int na, int nb) {
    const int columns = (nb + Prepared::kLanes - 1) / Prepared::kLanes * Prepared::kLanes;
    const std::size_t cells = static_cast<std::size_t>(na) * columns + Prepared::kLanes;
    if (gamma.size() < cells) gamma.resize(cells);
    if (static_cast<int>(column_minutia.size()) < columns) {
        column_minutia.resize(columns);
        column_max.resize(columns);
        column_best.resize(columns);
        column_live.resize(columns);
    }
    const int m = std::max(na, nb);
    if (static_cast<int>(rows.size()) < m + kSeedPadding) {
        column_of.resize(m);
        live.resize(m);
        stale.resize(m);
        for (auto& w : window_begin) w.resize(m + 8);
        for (auto& w : window_end) w.resize(m + 8);
        row_best.resize(m);
        picked_row.resize(m);
        picked_column.resize(m);
        picked_value.resize(m);
        rows.resize(m + kSeedPadding);
        cols.resize(m + kSeedPadding);
        lambda0.resize(m);
        lambda.resize(m);
        next.resize(m);
        efficiency.resize(m + kSeedPadding);    // also the relaxation's sums, stored by whole vectors
        best.resize(m);
        rho.resize(static_cast<std::size_t>(m) * rho_stride(m) + kSeedPadding);
        for (auto* v : {&seed_ax, &seed_ay, &seed_bx, &seed_by, &seed_delta}) v->resize(m + kSeedPadding);
    }
}

namespace {
// Read hints for every cache line of [data, data + bytes): Locality 3 to L1 (T0), 2 to L2 (T1).
template <int Locality>
inline void prefetch_bytes(const void* data, std::size_t bytes) {
    const char* p = static_cast<const char*>(data);
    for (std::size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(p + offset, 0, Locality);
}
// A next candidate's arrays go to L2 (T1): faster here than to L1.
template <class T>
inline void prefetch_vector(const std::vector<T>& v) { prefetch_bytes<2>(v.data(), v.size() * sizeof(T)); }
}  // namespace

void prefetch(const Prepared& t) {
#if BASMA_AVX512_POPCNT || BASMA_AVX2
    for (const Prepared::Group& group : t.groups) {
        if (group.bits) prefetch_bytes<2>(group.bits.get(), static_cast<std::size_t>(t.model->words) * (group.full ? 1 : 2) * group.stride * 8);
        prefetch_vector(group.sorted_angle);
        prefetch_vector(group.value_count);
        prefetch_vector(group.valid_count);
        prefetch_vector(group.value_root);
        prefetch_vector(group.by_angle);
    }
#else
    prefetch_bytes<2>(t.bits.get(), static_cast<std::size_t>(t.n) * 2 * t.model->words * 8);
    prefetch_vector(t.sorted_angle);
    prefetch_vector(t.by_angle);
    prefetch_vector(t.value_count);
    prefetch_vector(t.valid_count);
#endif
    prefetch_vector(t.radial);
    prefetch_vector(t.X);
    prefetch_vector(t.Y);
    prefetch_vector(t.angled);
}

void local_similarities(const Prepared& a, const Prepared& b, double* out) {
    std::fill(out, out + static_cast<std::size_t>(a.n) * b.n, 0.0);
    Scratch s;
    s.reserve(a.n, b.n);
    const int columns = similarity_matrix(a, b, s);
    for (int i = 0; i < a.n; ++i) {
        for (int q = 0; q < columns; ++q) {
            std::memcpy(out + static_cast<std::size_t>(i) * b.n + s.column_minutia[q],
                        s.gamma.data() + static_cast<std::size_t>(i) * s.stride + q, sizeof(double));
        }
    }
}

namespace {

#if !BASMA_AVX512_POPCNT
// The entries of sorted[0 .. n) below value (OrEqual: not above it), i.e. the position
// std::lower_bound (std::upper_bound) finds. The AVX2 build counts them with vector compares: a
// binary search's branches are taken at random, about half of them mispredicted, and each
// probe cylinder looks up two windows. Its arrays hold at least n + 8 entries (Prepared::Group).
// (AVX-512 builds compute every row's windows at once: group_windows() below.)
template <bool OrEqual>
inline int count_below(const double* sorted, int n, double value) {
#if BASMA_AVX2
    const __m256d v = _mm256_set1_pd(value);
    int count = 0;
    for (int k = 0; k < n; k += 4) {
        const int below = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(sorted + k), v, OrEqual ? _CMP_LE_OQ : _CMP_LT_OQ));
        count += __builtin_popcount(static_cast<unsigned>(below) & ((1u << std::min(n - k, 4)) - 1u));
    }
    return count;
#else
    return static_cast<int>((OrEqual ? std::upper_bound(sorted, sorted + n, value) : std::lower_bound(sorted, sorted + n, value)) - sorted);
#endif
}

// Positions [first, last) of a direction order (sorted, nb entries) whose direction is within delta_theta of
// theta, as at most two ranges (the window may wrap around 2 pi). A superset by 1e-9 rad; the
// exact test of eq. 17 is applied per lane.
int direction_window(const double* sorted, int nb, double theta, double limit, int* first, int* last) {
    if (limit >= kPi) {
        first[0] = 0;
        last[0] = nb;
        return 1;
    }
    double lo = theta - limit - 1e-9;
    if (lo < 0) lo += kTwoPi;
    const double hi = lo + 2 * limit + 2e-9;
    first[0] = count_below<false>(sorted, nb, lo);
    if (hi < kTwoPi) {
        last[0] = std::max(first[0], count_below<true>(sorted, nb, hi));
        return 1;
    }
    last[0] = nb;                                       // the window wraps around 2 pi
    first[1] = 0;
    last[1] = std::min(first[0], count_below<true>(sorted, nb, hi - kTwoPi));
    return 2;
}
#endif

#if BASMA_AVX512_POPCNT
// The windows of direction_window() (the other builds) for many probe directions theta[0 .. rows) at once, each as
// one run [begin, end) of positions of a group (a wrapped window continues into the stored
// copy: end = count + its second range's end). Lanes are 8 probe directions and each candidate
// direction is compared with all of them, instead of two vector counts over the candidates per
// probe direction (whose serial popcounts and sums were about a tenth of the local
// similarities' time). Same comparisons, same windows. limit < pi; theta, begin and end have
// room for rows rounded up to 8.
void group_windows(const double* theta, int rows, const double* sorted, int count, double limit, int* begin, int* end) {
    const __m512d two_pi = _mm512_set1_pd(kTwoPi), zero = _mm512_setzero_pd();
    for (int u = 0; u < rows; u += 8) {
        const __mmask8 lanes = static_cast<__mmask8>((1u << std::min(rows - u, 8)) - 1u);
        __m512d lo = _mm512_sub_pd(_mm512_sub_pd(_mm512_maskz_loadu_pd(lanes, theta + u), _mm512_set1_pd(limit)), _mm512_set1_pd(1e-9));
        lo = _mm512_mask_add_pd(lo, _mm512_cmp_pd_mask(lo, zero, _CMP_LT_OQ), lo, two_pi);
        __m512d hi = _mm512_add_pd(_mm512_add_pd(lo, _mm512_set1_pd(2 * limit)), _mm512_set1_pd(2e-9));
        const __mmask8 wraps = _mm512_cmp_pd_mask(hi, two_pi, _CMP_GE_OQ);
        hi = _mm512_mask_sub_pd(hi, wraps, hi, two_pi);
        __m512i below = _mm512_setzero_si512(), within = below;
        const __m512i one = _mm512_set1_epi64(1);
        for (int k = 0; k < count; ++k) {
            const __m512d d = _mm512_set1_pd(sorted[k]);
            below = _mm512_mask_add_epi64(below, _mm512_cmp_pd_mask(d, lo, _CMP_LT_OQ), below, one);
            within = _mm512_mask_add_epi64(within, _mm512_cmp_pd_mask(d, hi, _CMP_LE_OQ), within, one);
        }
        // Not wrapped: [below, max(below, within)); wrapped: [below, count + min(below, within)).
        const __m512i last = _mm512_mask_add_epi64(_mm512_max_epi64(below, within), wraps,
                                                   _mm512_min_epi64(below, within), _mm512_set1_epi64(count));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(begin + u), _mm512_cvtepi64_epi32(below));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(end + u), _mm512_cvtepi64_epi32(last));
    }
}
#endif

#if !BASMA_AVX512_POPCNT && !BASMA_AVX2
// Set bits of x & y[p] for P vectors y[0 .. P) of `words` words (x read once): the popcounts of
// the local similarity in the scalar build.
template <int P>
inline void count_and(const std::uint64_t* x, const std::uint64_t* const (&y)[P], int words, int (&out)[P]) {
    for (int p = 0; p < P; ++p) out[p] = 0;
    for (int w = 0; w < words; ++w) {
        for (int p = 0; p < P; ++p) out[p] += __builtin_popcountll(x[w] & y[p][w]);
    }
}
#endif


#if BASMA_AVX512_POPCNT
// The four popcounts of eq. 17 for one probe cylinder (values ca, validity va) against the 8
// candidates of one block, per lane: matchable cells |v_a & v_b| (MCC eq. 15), |c_a|b|, |c_b|a|
// and |c_a|b & c_b|a| = |c_a & c_b| (values are stored masked by their own validity). A full
// cylinder (every cell valid) makes two of them stored counts: |v_a & v_b| is the other's valid
// cells and the other's masked vector is its whole vector. The validity is the same in every
// section, so a partial pair counts the matchable cells of the first section only, times N_D.
struct BlockCounts {
    __m512i matchable, na, nb, both;
    __m512d root_na, root_nb;
};

template <bool FullA, bool FullB>
inline BlockCounts block_counts(const Prepared& a, int i, const Prepared::Group& group, int k0, int words) {
    const MccModel& model = *a.model;
    const std::uint64_t* ca = a.values(i);
    const std::uint64_t* va = a.valid(i);
    __m512i count_a = _mm512_setzero_si512(), count_b = count_a, count_both = count_a;
#pragma GCC unroll 2    // measured 3 % faster on Zen 5 than 1 (3 and 4 no better than 2)
    for (int w = 0; w < words; ++w) {
        const __m512i xa = _mm512_set1_epi64(static_cast<long long>(ca[w]));
        const __m512i cb = _mm512_loadu_si512(group.values(w, k0));
        count_both = _mm512_add_epi64(count_both, _mm512_popcnt_epi64(_mm512_and_si512(xa, cb)));
        if constexpr (!FullB) {
            const __m512i vb = _mm512_loadu_si512(group.valid(w, k0));
            count_a = _mm512_add_epi64(count_a, _mm512_popcnt_epi64(_mm512_and_si512(xa, vb)));
        }
        if constexpr (!FullA) {
            const __m512i ma = _mm512_set1_epi64(static_cast<long long>(va[w]));
            count_b = _mm512_add_epi64(count_b, _mm512_popcnt_epi64(_mm512_and_si512(cb, ma)));
        }
    }
    // The norms sqrt(|c_a|b|), sqrt(|c_b|a|): vector square roots of the counts (the same doubles
    // as the model's square-root table), stored ones where a count is stored.
    const double* root = model.root.data();
    BlockCounts o;
    o.both = count_both;
    o.na = FullB ? _mm512_set1_epi64(a.value_count[i]) : count_a;
    o.nb = FullA ? _mm512_loadu_si512(group.value_count.data() + k0) : count_b;
    o.root_na = FullB ? _mm512_set1_pd(root[a.value_count[i]]) : _mm512_sqrt_pd(_mm512_cvtepi64_pd(o.na));
    o.root_nb = FullA ? _mm512_loadu_pd(group.value_root.data() + k0) : _mm512_sqrt_pd(_mm512_cvtepi64_pd(o.nb));
    if constexpr (FullA) {
        o.matchable = _mm512_loadu_si512(group.valid_count.data() + k0);
    } else if constexpr (FullB) {
        o.matchable = _mm512_set1_epi64(a.valid_count[i]);
    } else {
        const int section_cells = model.circle_cells;
        __m512i section = _mm512_setzero_si512();
        for (int w = 0; w * 64 < section_cells; ++w) {
            const int rest = section_cells - w * 64;
            const std::uint64_t mask = rest >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << rest) - 1;
            const __m512i vb = _mm512_loadu_si512(group.valid(w, k0));
            const __m512i m = _mm512_set1_epi64(static_cast<long long>(va[w] & mask));
            section = _mm512_add_epi64(section, _mm512_popcnt_epi64(_mm512_and_si512(m, vb)));
        }
        o.matchable = _mm512_mullo_epi64(section, _mm512_set1_epi64(model.params.angular_cells));
    }
    return o;
}

inline BlockCounts block_counts(bool full_a, const Prepared& a, int i, const Prepared::Group& group, int k0, int words) {
    if (full_a) {
        return group.full ? block_counts<true, true>(a, i, group, k0, words) : block_counts<true, false>(a, i, group, k0, words);
    }
    return group.full ? block_counts<false, true>(a, i, group, k0, words) : block_counts<false, false>(a, i, group, k0, words);
}
#endif

#if BASMA_AVX2
// The same four counts with AVX2, for the 8 candidates of a block as two halves of 4 lanes
// (one 64-bit lane per candidate; the probe's words are broadcast once for both halves). AVX2
// has no vector popcount: each word's bytes are counted by nibble lookup (vpshufb), the byte
// counts summed over at most 31 words (8 * 31 < 256) and then per lane (vpsadbw).
struct HalfCounts {
    __m256i matchable, na, nb, both;
    __m256d root_na, root_nb;
};

inline __m256i byte_counts(__m256i v) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(v, nibble)),
                           _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble)));
}

// sqrt of 4 counts (0 <= x < 2^52) as doubles: x is exact as the low mantissa bits of 2^52 + x.
// The same doubles as the square-root table (both correctly rounded).
inline __m256d root4(__m256i x) {
    const __m256d two52 = _mm256_set1_pd(4503599627370496.0);
    return _mm256_sqrt_pd(_mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(x, _mm256_castpd_si256(two52))), two52));
}

inline __m256i load4(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

template <bool FullA, bool FullB>
inline void block_counts(const Prepared& a, int i, const Prepared::Group& group, int k0, int words, HalfCounts (&out)[2]) {
    const MccModel& model = *a.model;
    const std::uint64_t* ca = a.values(i);
    const std::uint64_t* va = a.valid(i);
    const __m256i zero = _mm256_setzero_si256();
    __m256i total_a[2] = {zero, zero}, total_b[2] = {zero, zero}, total_both[2] = {zero, zero};
    for (int w0 = 0; w0 < words; w0 += 31) {
        const int w1 = std::min(words, w0 + 31);
        __m256i bytes_a[2] = {zero, zero}, bytes_b[2] = {zero, zero}, bytes_both[2] = {zero, zero};
        for (int w = w0; w < w1; ++w) {
            const __m256i xa = _mm256_set1_epi64x(static_cast<long long>(ca[w]));
            for (int h = 0; h < 2; ++h) {
                const __m256i cb = load4(group.values(w, k0 + 4 * h));
                bytes_both[h] = _mm256_add_epi8(bytes_both[h], byte_counts(_mm256_and_si256(xa, cb)));
                if constexpr (!FullB) {
                    const __m256i vb = load4(group.valid(w, k0 + 4 * h));
                    bytes_a[h] = _mm256_add_epi8(bytes_a[h], byte_counts(_mm256_and_si256(xa, vb)));
                }
                if constexpr (!FullA) {
                    const __m256i ma = _mm256_set1_epi64x(static_cast<long long>(va[w]));
                    bytes_b[h] = _mm256_add_epi8(bytes_b[h], byte_counts(_mm256_and_si256(cb, ma)));
                }
            }
        }
        for (int h = 0; h < 2; ++h) {
            total_both[h] = _mm256_add_epi64(total_both[h], _mm256_sad_epu8(bytes_both[h], zero));
            if constexpr (!FullB) total_a[h] = _mm256_add_epi64(total_a[h], _mm256_sad_epu8(bytes_a[h], zero));
            if constexpr (!FullA) total_b[h] = _mm256_add_epi64(total_b[h], _mm256_sad_epu8(bytes_b[h], zero));
        }
    }
    const double* root = model.root.data();
    for (int h = 0; h < 2; ++h) {
        const int k = k0 + 4 * h;
        HalfCounts& o = out[h];
        o.both = total_both[h];
        o.na = FullB ? _mm256_set1_epi64x(a.value_count[i]) : total_a[h];
        o.nb = FullA ? load4(group.value_count.data() + k) : total_b[h];
        o.root_na = FullB ? _mm256_set1_pd(root[a.value_count[i]]) : root4(o.na);
        o.root_nb = FullA ? _mm256_loadu_pd(group.value_root.data() + k) : root4(o.nb);
        if constexpr (FullA) {
            o.matchable = load4(group.valid_count.data() + k);
        } else if constexpr (FullB) {
            o.matchable = _mm256_set1_epi64x(a.valid_count[i]);
        } else {
            const int section_cells = model.circle_cells;
            __m256i section = zero;
            for (int w0 = 0; w0 * 64 < section_cells; w0 += 31) {
                __m256i bytes = zero;
                for (int w = w0; w < w0 + 31 && w * 64 < section_cells; ++w) {
                    const int rest = section_cells - w * 64;
                    const std::uint64_t mask = rest >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << rest) - 1;
                    const __m256i m = _mm256_set1_epi64x(static_cast<long long>(va[w] & mask));
                    bytes = _mm256_add_epi8(bytes, byte_counts(_mm256_and_si256(m, load4(group.valid(w, k)))));
                }
                section = _mm256_add_epi64(section, _mm256_sad_epu8(bytes, zero));
            }
            o.matchable = _mm256_mul_epu32(section, _mm256_set1_epi64x(model.params.angular_cells));
        }
    }
}

inline void block_counts(bool full_a, const Prepared& a, int i, const Prepared::Group& group, int k0, int words,
                         HalfCounts (&out)[2]) {
    if (full_a) {
        if (group.full) return block_counts<true, true>(a, i, group, k0, words, out);
        return block_counts<true, false>(a, i, group, k0, words, out);
    }
    if (group.full) return block_counts<false, true>(a, i, group, k0, words, out);
    return block_counts<false, false>(a, i, group, k0, words, out);
}
#endif

}  // namespace

// The non-zero local similarities (MCC section 4.1 and eq. 17) of every usable probe cylinder
// with the candidate cylinders inside its direction window. AVX-512 and AVX2: one probe cylinder
// against the 8 candidate cylinders of a block per step (Prepared::Group), the popcounts
// accumulated per lane (block_counts), the similarities of 8 (AVX2: twice 4) pairs computed at
// once and stored into the dense Gamma with one masked store.
int similarity_matrix(const Prepared& a, const Prepared& b, Scratch& s) {
    const MccParams& p = a.model->params;
    const int words = a.model->words;
    const int section_cells = a.model->circle_cells;
    const int all_cells = section_cells * p.angular_cells;
    const double min_matchable = p.min_matchable_cells * all_cells;
    const double limit = p.max_direction_diff_rad;
    constexpr int lanes = Prepared::kLanes;
#if !BASMA_AVX512_POPCNT && !BASMA_AVX2
    const double* root = a.model->root.data();          // the scalar build's norms (MCC section 4.1)
#endif
#if BASMA_AVX512_POPCNT || BASMA_AVX2
    const int columns = b.usable_count;                 // group 0, then group 1, each by direction
    for (int g = 0, q = 0; g < 2; ++g) {
        for (int k = 0; k < b.groups[g].count; ++k, ++q) s.column_minutia[q] = b.groups[g].by_angle[k];
    }
#else
    const int columns = b.n;                            // column j: minutia j
    for (int q = 0; q < columns; ++q) s.column_minutia[q] = q;
#endif
    s.stride = (columns + lanes - 1) / lanes * lanes;
    for (int q = columns; q < s.stride; ++q) s.column_minutia[q] = std::numeric_limits<std::int64_t>::max();
    for (int q = 0; q < columns; ++q) s.column_of[s.column_minutia[q]] = q;
    std::fill(s.gamma.begin(), s.gamma.begin() + static_cast<std::size_t>(a.n) * s.stride, 0);
#if BASMA_AVX512_POPCNT
    // Every probe row's window in both groups (rows in the order of the loop below).
    const bool windows = limit < kPi;
    if (windows) {
        for (int g = 0; g < 2; ++g) {
            group_windows(a.sorted_angle.data(), a.usable_count, b.groups[g].sorted_angle.data(), b.groups[g].count, limit,
                          s.window_begin[g].data(), s.window_end[g].data());
        }
    }
#endif
#if BASMA_AVX512_POPCNT || BASMA_AVX2
    // The probe's usable cylinders in increasing direction: consecutive rows then have nearly
    // the same windows and block counts (the same candidate lines in cache, loop counts the
    // branch predictor has seen). Measured faster than minutia order, which was faster than
    // the full cylinders first and then the others.
    for (int u = 0; u < a.usable_count; ++u) {
        const int i = a.by_angle[u];
#else
    for (int i = 0; i < a.n; ++i) {
        if (!a.usable[i]) continue;
#endif
        const double theta = a.angled[i];
#if !BASMA_AVX512_POPCNT
        int first[2], last[2];
#endif
        std::uint64_t* row = s.gamma.data() + static_cast<std::size_t>(i) * s.stride;
#if !BASMA_AVX512_POPCNT && !BASMA_AVX2
        const std::uint64_t* ca = a.values(i);
        const std::uint64_t* va = a.valid(i);
        const int ranges = direction_window(b.sorted_angle.data(), b.usable_count, theta, limit, first, last);
        // Cylinder by cylinder, with exact shortcuts: validity is the same in every section of a
        // cylinder, so the matchable cells are N_D times those of the first section; where a
        // cylinder is valid everywhere, the other's masked vector is its whole vector, whose norm
        // is stored (c_b|a = c_b), and the matchable cells are the other's valid cells.
        const int section_words = section_cells / 64;
        const std::uint64_t section_tail = section_cells % 64 ? (std::uint64_t{1} << (section_cells % 64)) - 1 : 0;
        const bool full_a = a.valid_count[i] == all_cells;
        for (int r = 0; r < ranges; ++r) {
            for (int k = first[r]; k < last[r]; ++k) {
                const int j = b.by_angle[k];
                if (std::fabs(angle_diff(theta, b.sorted_angle[k])) > limit) continue;
                const std::uint64_t* cb = b.values(j);
                const std::uint64_t* vb = b.valid(j);
                const bool full_b = b.valid_count[j] == all_cells;
                int matchable, na, nb, both;
                if (full_a && full_b) {
                    matchable = all_cells;
                    na = a.value_count[i];
                    nb = b.value_count[j];
                    int count[1];
                    count_and<1>(ca, {cb}, words, count);
                    both = count[0];
                } else if (full_a || full_b) {
                    // One cylinder valid everywhere: the other's masked vector is its whole vector
                    // (stored norm); the full one's is masked by the other's validity.
                    const std::uint64_t* c_full = full_a ? ca : cb;
                    const std::uint64_t* c_part = full_a ? cb : ca;
                    const std::uint64_t* v_part = full_a ? vb : va;
                    int count[2];
                    count_and<2>(c_full, {v_part, c_part}, words, count);
                    const int n_part = full_a ? b.value_count[j] : a.value_count[i];
                    matchable = full_a ? b.valid_count[j] : a.valid_count[i];
                    na = full_a ? count[0] : n_part;
                    nb = full_a ? n_part : count[0];
                    both = count[1];
                } else {
                    int section = 0;
                    for (int w = 0; w < section_words; ++w) section += __builtin_popcountll(va[w] & vb[w]);
                    if (section_tail) section += __builtin_popcountll(va[section_words] & vb[section_words] & section_tail);
                    matchable = section * p.angular_cells;
                    if (matchable < min_matchable) continue;
                    int count_a[2], count_b[1];
                    count_and<2>(ca, {vb, cb}, words, count_a);
                    count_and<1>(cb, {va}, words, count_b);
                    na = count_a[0];
                    both = count_a[1];
                    nb = count_b[0];
                }
                if (matchable < min_matchable || na == 0 || nb == 0) continue;
                const double value = 1.0 - root[na + nb - 2 * both] / (root[na] + root[nb]);   // MCC eq. 17
                std::memcpy(row + j, &value, sizeof value);
            }
        }
#else
        // The grouped layouts (AVX-512, AVX2): each group's window as one run of positions.
        const bool full_a = a.valid_count[i] == all_cells;
#if BASMA_AVX2
        // Integer counts against the threshold: matchable >= min_matchable <=> matchable > ceil - 1.
        const __m256i matchable_floor = _mm256_set1_epi64x(static_cast<long long>(std::ceil(min_matchable)) - 1);
        const __m256i zero = _mm256_setzero_si256();
#else
        const __m512i lane_ids = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
#endif
        for (int g = 0; g < 2; ++g) {
            const Prepared::Group& group = b.groups[g];
            std::uint64_t* group_row = row + (g == 0 ? 0 : b.groups[0].count);
            // The window as one run of positions (a wrapped one continues into the copy).
#if BASMA_AVX512_POPCNT
            const int begin = windows ? s.window_begin[g][u] : 0, end = windows ? s.window_end[g][u] : group.count;
#else
            const int ranges = direction_window(group.sorted_angle.data(), group.count, theta, limit, first, last);
            const int begin = first[0], end = ranges == 1 ? last[0] : group.count + last[1];
#endif
            for (int k0 = begin; k0 < end; k0 += lanes) {
#if BASMA_AVX2
                HalfCounts counts[2];
                block_counts(full_a, a, i, group, k0, words, counts);
                for (int h = 0; h < 2; ++h) {
                    const int k = k0 + 4 * h;
                    if (k >= end) break;
                    const HalfCounts& c = counts[h];
                    const __m256i nx = _mm256_sub_epi64(_mm256_add_epi64(c.na, c.nb), _mm256_slli_epi64(c.both, 1));
                    const __m256d value = _mm256_sub_pd(
                        _mm256_set1_pd(1.0), _mm256_div_pd(root4(nx), _mm256_add_pd(c.root_na, c.root_nb)));
                    // Lanes inside the window, with enough matchable cells and a non-empty masked
                    // vector on both sides, directions within delta_theta (eq. 17's gate).
                    __m256i keep = _mm256_cmpgt_epi64(_mm256_set1_epi64x(end - k), _mm256_setr_epi64x(0, 1, 2, 3));
                    keep = _mm256_and_si256(keep, _mm256_cmpgt_epi64(c.matchable, matchable_floor));
                    keep = _mm256_and_si256(keep, _mm256_cmpgt_epi64(c.na, zero));
                    keep = _mm256_and_si256(keep, _mm256_cmpgt_epi64(c.nb, zero));
                    __m256d diff = _mm256_sub_pd(_mm256_set1_pd(theta), _mm256_loadu_pd(group.sorted_angle.data() + k));
                    diff = _mm256_sub_pd(diff, _mm256_and_pd(_mm256_cmp_pd(diff, _mm256_set1_pd(kPi), _CMP_GE_OQ),
                                                             _mm256_set1_pd(kTwoPi)));
                    diff = _mm256_add_pd(diff, _mm256_and_pd(_mm256_cmp_pd(diff, _mm256_set1_pd(-kPi), _CMP_LT_OQ),
                                                             _mm256_set1_pd(kTwoPi)));
                    const __m256d magnitude = _mm256_andnot_pd(_mm256_set1_pd(-0.0), diff);
                    keep = _mm256_and_si256(keep, _mm256_castpd_si256(_mm256_cmp_pd(magnitude, _mm256_set1_pd(limit), _CMP_LE_OQ)));
                    // Stored at the entries' columns: positions count .. 2 count - 1 of the run
                    // are the copy, columns 0 .. of the group again.
                    const int split = group.count - k;      // lanes from here on are in the copy
                    if (split >= 4) {
                        _mm256_maskstore_pd(reinterpret_cast<double*>(group_row + k), keep, value);
                    } else if (split <= 0) {
                        _mm256_maskstore_pd(reinterpret_cast<double*>(group_row + (k - group.count)), keep, value);
                    } else {
                        alignas(32) double values[4];
                        alignas(32) std::int64_t kept[4];
                        _mm256_store_pd(values, value);
                        _mm256_store_si256(reinterpret_cast<__m256i*>(kept), keep);
                        for (int l = 0; l < 4; ++l) {
                            if (kept[l]) std::memcpy(group_row + (k + l) % group.count, &values[l], sizeof(double));
                        }
                    }
                }
#else
                const BlockCounts counts = block_counts(full_a, a, i, group, k0, words);
                const __m512i matchable = counts.matchable, na = counts.na, nb = counts.nb, both = counts.both;
                const __m512d root_na = counts.root_na, root_nb = counts.root_nb;
                const __m512i nx = _mm512_sub_epi64(_mm512_add_epi64(na, nb), _mm512_slli_epi64(both, 1));
                const __m512d value = _mm512_sub_pd(
                    _mm512_set1_pd(1.0), _mm512_div_pd(_mm512_sqrt_pd(_mm512_cvtepi64_pd(nx)), _mm512_add_pd(root_na, root_nb)));
                // Lanes inside the window, with enough matchable cells and a non-empty masked
                // vector on both sides (then the similarity is > 0), directions within delta_theta.
                __mmask8 keep = static_cast<__mmask8>((1u << std::min(end - k0, lanes)) - 1u);
                keep &= _mm512_cmp_pd_mask(_mm512_cvtepi64_pd(matchable), _mm512_set1_pd(min_matchable), _CMP_GE_OQ);
                keep &= _mm512_cmpgt_epi64_mask(na, _mm512_setzero_si512());
                keep &= _mm512_cmpgt_epi64_mask(nb, _mm512_setzero_si512());
                __m512d diff = _mm512_sub_pd(_mm512_set1_pd(theta), _mm512_loadu_pd(group.sorted_angle.data() + k0));
                diff = _mm512_mask_sub_pd(diff, _mm512_cmp_pd_mask(diff, _mm512_set1_pd(kPi), _CMP_GE_OQ), diff,
                                          _mm512_set1_pd(kTwoPi));
                diff = _mm512_mask_add_pd(diff, _mm512_cmp_pd_mask(diff, _mm512_set1_pd(-kPi), _CMP_LT_OQ), diff,
                                          _mm512_set1_pd(kTwoPi));
                keep &= _mm512_cmp_pd_mask(_mm512_abs_pd(diff), _mm512_set1_pd(limit), _CMP_LE_OQ);
                // Stored at the entries' columns: positions count .. 2 count - 1 of the run are
                // the copy, columns 0 .. of the group again.
                const __m512i bits = _mm512_castpd_si512(value);
                const int split = group.count - k0;       // lanes from here on are in the copy
                if (split >= lanes) {
                    _mm512_mask_storeu_epi64(group_row + k0, keep, bits);
                } else if (split <= 0) {
                    _mm512_mask_storeu_epi64(group_row + (k0 - group.count), keep, bits);
                } else {
                    _mm512_mask_storeu_epi64(group_row + k0, static_cast<__mmask8>(keep & ((1u << split) - 1u)), bits);
                    const __m512i shifted = _mm512_permutexvar_epi64(_mm512_add_epi64(lane_ids, _mm512_set1_epi64(split)), bits);
                    _mm512_mask_storeu_epi64(group_row, static_cast<__mmask8>(keep >> split), shifted);
                }
#endif
            }
        }
#endif
    }
    return columns;
}

namespace {

// The largest entry of every column of Gamma over the rows live[0 .. lives) and its row (ties:
// the first such row), for the seed selection.
#if BASMA_AVX512_POPCNT
// V vectors of 8 columns from column q0 on, their maxima kept in registers over the rows.
template <int V>
void column_maxima_block(const std::int64_t* gamma, int stride, int q0, const int* live, int lives,
                         std::int64_t* column_max, std::int64_t* column_best) {
    __m512i top[V], best[V];
    for (int v = 0; v < V; ++v) top[v] = best[v] = _mm512_setzero_si512();
    for (int l = 0; l < lives; ++l) {
        const std::int64_t* row = gamma + static_cast<std::ptrdiff_t>(live[l]) * stride + q0;
        const __m512i r = _mm512_set1_epi64(live[l]);
        for (int v = 0; v < V; ++v) {
            const __m512i x = _mm512_loadu_si512(row + 8 * v);
            best[v] = _mm512_mask_mov_epi64(best[v], _mm512_cmpgt_epi64_mask(x, top[v]), r);
            top[v] = _mm512_max_epi64(x, top[v]);
        }
    }
    for (int v = 0; v < V; ++v) {
        _mm512_storeu_si512(column_max + q0 + 8 * v, top[v]);
        _mm512_storeu_si512(column_best + q0 + 8 * v, best[v]);
    }
}
#endif

void column_maxima(const std::int64_t* gamma, int stride, const int* live, int lives, std::int64_t* column_max,
                   std::int64_t* column_best) {
#if BASMA_AVX512_POPCNT
    for (int q0 = 0; q0 < stride; q0 += 64) {       // stride: a multiple of 8
        switch (std::min(8, (stride - q0) / 8)) {
            case 1: column_maxima_block<1>(gamma, stride, q0, live, lives, column_max, column_best); break;
            case 2: column_maxima_block<2>(gamma, stride, q0, live, lives, column_max, column_best); break;
            case 3: column_maxima_block<3>(gamma, stride, q0, live, lives, column_max, column_best); break;
            case 4: column_maxima_block<4>(gamma, stride, q0, live, lives, column_max, column_best); break;
            case 5: column_maxima_block<5>(gamma, stride, q0, live, lives, column_max, column_best); break;
            case 6: column_maxima_block<6>(gamma, stride, q0, live, lives, column_max, column_best); break;
            case 7: column_maxima_block<7>(gamma, stride, q0, live, lives, column_max, column_best); break;
            default: column_maxima_block<8>(gamma, stride, q0, live, lives, column_max, column_best); break;
        }
    }
#else
    std::fill(column_max, column_max + stride, 0);
    for (int l = 0; l < lives; ++l) {
        const int r = live[l];
        const std::int64_t* row = gamma + static_cast<std::ptrdiff_t>(r) * stride;
        for (int q = 0; q < stride; ++q) {
            const bool above = row[q] > column_max[q];
            column_max[q] = above ? row[q] : column_max[q];
            column_best[q] = above ? r : column_best[q];
        }
    }
#endif
}

// Greedy one-to-one selection of the n_R seed pairs in decreasing local similarity (LGS of
// MCC section 5.1; ties by row-major position, i.e. by (probe, candidate) minutia), computed
// without sorting Gamma: with a strict order on the entries, the greedy matching is the one
// built by repeatedly taking every locally dominant entry, the largest both of its row and of
// its column, and deleting their rows and columns (Preis, STACS 1999). Each round is a few
// vector passes over the live rows; about 6 rounds match a template pair. The pairs taken stay
// in the order taken, unless more than `want` were: then the first `want` of the greedy order
// are kept (the greedy stops there). Returns n_R.
[[gnu::noinline]] int select_seeds(const Prepared& a, int want, Scratch& s) {
    std::int64_t* gamma = reinterpret_cast<std::int64_t*>(s.gamma.data());   // non-negative doubles' bits
    const int stride = s.stride;
    const std::int64_t* minutia = s.column_minutia.data();
    constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
    int lives = 0;
    for (int i = 0; i < a.n; ++i) {
        if (a.usable[i]) s.live[lives++] = i;
    }
    int picked = 0;
    std::int64_t* column_max = s.column_max.data();
    std::int64_t* column_best = s.column_best.data();
    // Columns taken are not cleared in Gamma but masked: column_live[q] is all ones while
    // column q is free, 0 once taken.
    std::int64_t* column_live = s.column_live.data();
    std::fill(column_live, column_live + stride, -1);
    // The largest entry of a row in the free columns (ties: the lowest candidate minutia), or -1 for an empty row.
    auto row_top = [&](int r) {
        const std::int64_t* row = gamma + static_cast<std::ptrdiff_t>(r) * stride;
#if BASMA_AVX512_POPCNT
        // One pass: per lane, the largest entry so far and the lowest minutia holding it.
        __m512i best = _mm512_setzero_si512(), who = _mm512_set1_epi64(kNone);
        for (int q = 0; q < stride; q += 8) {        // stride: a multiple of 8
            const __m512i x = _mm512_and_si512(_mm512_loadu_si512(row + q), _mm512_loadu_si512(column_live + q));
            const __m512i m = _mm512_loadu_si512(minutia + q);
            const __mmask8 above = _mm512_cmpgt_epi64_mask(x, best), equal = _mm512_cmpeq_epi64_mask(x, best);
            who = _mm512_mask_min_epi64(_mm512_mask_mov_epi64(who, above, m), equal, who, m);
            best = _mm512_max_epi64(x, best);
        }
        const std::int64_t top = _mm512_reduce_max_epi64(best);
        if (top == 0) return -1;
        return s.column_of[_mm512_mask_reduce_min_epi64(_mm512_cmpeq_epi64_mask(best, _mm512_set1_epi64(top)), who)];
#else
        std::int64_t top = 0;
        for (int q = 0; q < stride; ++q) top = std::max(top, row[q] & column_live[q]);
        if (top == 0) return -1;
        std::int64_t lowest = kNone;
        for (int q = 0; q < stride; ++q) lowest = std::min(lowest, (row[q] & column_live[q]) == top ? minutia[q] : kNone);
        return s.column_of[lowest];
#endif
    };
    bool first_round = true;
    while (lives > 0) {
        // Row maxima: every row in the first round, then the rows whose largest entry was in a
        // column taken since (entries only disappear, so the others keep theirs); rows left
        // without entries leave.
        // (Lists built without branches: whether a row's maximum is stale goes either way at random.)
        int stale = 0;
        for (int l = 0; l < lives; ++l) {
            const int r = s.live[l];
            s.stale[stale] = r;
            stale += first_round || !column_live[s.row_best[r]];
        }
        for (int u = 0; u < stale; ++u) s.row_best[s.stale[u]] = row_top(s.stale[u]);
        int kept = 0;
        for (int l = 0; l < lives; ++l) {
            const int r = s.live[l];
            s.live[kept] = r;
            kept += s.row_best[r] >= 0;
        }
        first_round = false;
        lives = kept;
        if (lives == 0) break;
        // The largest entry of every column over the live rows (ties: the lowest row). Taken
        // columns get values too, but no live row's largest entry is in one.
        column_maxima(gamma, stride, s.live.data(), lives, column_max, column_best);
        // Locally dominant entries are taken; their rows leave, their columns are masked.
        kept = 0;
        const int before = picked;
        for (int l = 0; l < lives; ++l) {              // both outcomes written, one kept: no branch
            const int r = s.live[l];
            const int q = s.row_best[r];
            const bool taken = column_best[q] == r;
            s.picked_row[picked] = r;
            s.picked_column[picked] = q;
            s.picked_value[picked] = static_cast<std::uint64_t>(gamma[static_cast<std::ptrdiff_t>(r) * stride + q]);
            picked += taken;
            s.live[kept] = r;
            kept += !taken;
        }
        lives = kept;
        for (int t = before; t < picked; ++t) column_live[s.picked_column[t]] = 0;
    }
    // The seeds stay in the order they were taken unless a cap keeps only the first `want` of
    // the greedy order: value descending, then row ascending (a strict order: each row is taken
    // once; score() breaks its ties by it, so that the order of the arrays does not matter). Each
    // pair then goes to its rank, the number of pairs before it, counted over all pairs: no
    // comparison sort, whose branches go either way at random.
    const std::int64_t* value = reinterpret_cast<const std::int64_t*>(s.picked_value.data());
    const int* picked_row = s.picked_row.data();
    const int nr = std::min(picked, want);
    auto place = [&](int t, int seed) {           // pair t taken becomes seed `seed`
        s.rows[seed] = picked_row[t];
        s.cols[seed] = static_cast<int>(minutia[s.picked_column[t]]);
        std::memcpy(&s.lambda0[seed], &value[t], sizeof(double));
    };
    if (nr == picked) {
        for (int t = 0; t < picked; ++t) place(t, t);
        return nr;
    }
    for (int t = 0; t < picked; ++t) {
        const std::int64_t v = value[t];
        const int row = picked_row[t];
        int rank = 0;
        for (int u = 0; u < picked; ++u) rank += (value[u] > v) | ((value[u] == v) & (picked_row[u] < row));
        if (rank < nr) place(t, rank);
    }
    return nr;
}

#if BASMA_AVX512_POPCNT || BASMA_AVX2
// The float vector operations of the compatibility kernel: 16 lanes with AVX-512, 8 with AVX2.
struct FloatLanes {
#if BASMA_AVX512_POPCNT
    using V = __m512;
    static constexpr int width = 16;
    BASMA_COMMON_LANE_OPS(_mm512, ps, float)
    static V abs(V x) { return _mm512_abs_ps(x); }
    static V rcp(V x) { return _mm512_rcp14_ps(x); }       // 1 / x to 2^-14 relative
    static V add_exponent(V r, V n) {   // r * 2^(n's low mantissa bits as an integer), no overflow
        return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(r), _mm512_slli_epi32(_mm512_castps_si512(n), 23)));
    }
    static V loadu(const float* p) { return _mm512_loadu_ps(p); }
    static V gather(const float* base, const int* index) {
        return _mm512_i32gather_ps(_mm512_loadu_si512(index), base, 4);
    }
    static void storeu(float* p, V x) { _mm512_storeu_ps(p, x); }
#else
    using V = __m256;
    static constexpr int width = 8;
    BASMA_COMMON_LANE_OPS(_mm256, ps, float)
    static V abs(V x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
    static V rcp(V x) { return _mm256_rcp_ps(x); }         // 1 / x to 1.5 * 2^-12 relative
    static V add_exponent(V r, V n) {   // r * 2^(n's low mantissa bits as an integer), no overflow
        return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(r), _mm256_slli_epi32(_mm256_castps_si256(n), 23)));
    }
    static V loadu(const float* p) { return _mm256_loadu_ps(p); }
    static V gather(const float* base, const int* index) {   // scalar loads: vgatherdps is slow on AMD Zen
        return _mm256_setr_ps(base[index[0]], base[index[1]], base[index[2]], base[index[3]],
                              base[index[4]], base[index[5]], base[index[6]], base[index[7]]);
    }
    static void storeu(float* p, V x) { _mm256_storeu_ps(p, x); }
#endif
};

// The three sigmoids of eq. 21 as 1 + 2^y, y = slope d + offset: -tau (d - mu) in base 2, so
// slope -tau / ln 2 and offset tau mu / ln 2 (computed once per comparison, not per row).
struct Sigmoids {
    float slope[3], offset[3];
    explicit Sigmoids(const MccParams& p) {
        const double tau[3] = {p.distance_tau, p.direction_tau, p.radial_tau};
        const double mu[3] = {p.distance_mu_px, p.direction_mu_rad, p.radial_mu_rad};
        for (int i = 0; i < 3; ++i) {
            slope[i] = static_cast<float>(-tau[i] / kLn2);
            offset[i] = static_cast<float>(tau[i] * mu[i] / kLn2);
        }
    }
};

// Row t of s.rho, the compatibilities rho(k, t), L::width seed pairs k at a time (see compatibility()).
template <class L, class Radial>
void compatibility_row(const Sigmoids& z, const float* ax, const float* ay, const float* bx, const float* by,
                       const float* delta, const Radial& radial, int t, int nr, float* rho_t) {
    using V = typename L::V;
    const V axt = L::set(ax[t]), ayt = L::set(ay[t]), bxt = L::set(bx[t]), byt = L::set(by[t]);
    const V deltat = L::set(delta[t]), one = L::set(1.0f);
    // 1 + e^(-tau (d - mu)) = 1 + 2^y, y = a d + b: y's integer part n by the round-to-nearest
    // of a float add (shifted = y + 1.5 * 2^23 holds n in its low mantissa bits), 2^(y - n) by its
    // polynomial (|y - n| <= 1/2: to about 2e-7 relative), times 2^n by an
    // integer add to the exponent bits. y is clamped to [-60, 100] (below, 1 + 2^y is 1 in
    // floats) and the product of the three terms to 2^120, so that its reciprocal is a normal
    // float: rho is then at least 2^-120 where it would be smaller, which changes no
    // relaxation sum in doubles (a larger floor would: pairs without support tie on their
    // efficiency, and the ties' order picks the pairs of eq. 23). No divide, round or scale
    // instruction: those were the slow part of this kernel.
    const V magic = L::set(12582912.0f);
    auto term = [&](V d, V slope, V offset) {
        const V y = L::min(L::max(L::fmadd(d, slope, offset), L::set(-60.0f)), L::set(100.0f));
        const V shifted = L::add(y, magic);
        const V f = L::sub(y, L::sub(shifted, magic));
        // Estrin's scheme: three short chains instead of one of five dependent FMAs.
        const V f2 = L::mul(f, f);
        const V low = L::fmadd(f, L::set(kExp2Poly[1]), L::set(kExp2Poly[0]));
        const V middle = L::fmadd(f, L::set(kExp2Poly[3]), L::set(kExp2Poly[2]));
        const V high = L::fmadd(f, L::set(kExp2Poly[5]), L::set(kExp2Poly[4]));
        const V r = L::fmadd(f2, L::fmadd(f2, high, middle), low);
        return L::add(one, L::add_exponent(r, shifted));
    };
    const V a1 = L::set(z.slope[0]), b1 = L::set(z.offset[0]);
    const V a2 = L::set(z.slope[1]), b2 = L::set(z.offset[1]);
    const V a3 = L::set(z.slope[2]), b3 = L::set(z.offset[2]);
    const V two_pi = L::set(static_cast<float>(kTwoPi)), largest = L::set(0x1p120f);
    auto wrapped_abs = [&](V x) {   // |x wrapped into [-pi, pi)|, for x in (-2 pi, 2 pi)
        const V a = L::abs(x);
        return L::min(a, L::sub(two_pi, a));
    };
    // Whole vectors: the seed arrays are padded to a multiple of the width (coordinates 0,
    // minutia 0), and the lanes past nr land in the row's padding (Scratch::rho_stride).
    for (int k = 0; k < nr; k += L::width) {
        const V dxa = L::sub(L::loadu(ax + k), axt), dya = L::sub(L::loadu(ay + k), ayt);
        const V dxb = L::sub(L::loadu(bx + k), bxt), dyb = L::sub(L::loadu(by + k), byt);
        const V d1 = L::abs(L::sub(L::sqrt(L::fmadd(dxa, dxa, L::mul(dya, dya))), L::sqrt(L::fmadd(dxb, dxb, L::mul(dyb, dyb)))));
        const V d2 = wrapped_abs(L::sub(deltat, L::loadu(delta + k)));
        const V d3 = wrapped_abs(radial(k));
        const V denominator = L::min(L::mul(L::mul(term(d1, a1, b1), term(d2, a2, b2)), term(d3, a3, b3)), largest);
        const V guess = L::rcp(denominator);                     // and one Newton step
        L::storeu(rho_t + k, L::fmadd(guess, L::fnmadd(denominator, guess, one), guess));
    }
}
#endif

#if BASMA_AVX512_POPCNT
// compatibility_row with the two radial rows (rows[t] of a, cols[t] of b) held in 2 P registers
// each (up to 32 P entries, zeros past n): a lane's entry is picked from the 32-entry register
// pair its index's bits 5 and up name (vpermt2ps), instead of a 16-lane gather.
template <int P>
void compatibility_row_in_registers(const Sigmoids& z, const float* ax, const float* ay, const float* bx, const float* by,
                                    const float* delta, const int* rows, const int* cols, const float* rad_a, int na,
                                    const float* rad_b, int nb, int t, int nr, float* rho_t) {
    __m512 ra[2 * P], rb[2 * P];
    for (int c = 0; c < 2 * P; ++c) {
        auto mask = [c](int n) { return static_cast<__mmask16>((1u << std::min(std::max(n - 16 * c, 0), 16)) - 1u); };
        ra[c] = _mm512_maskz_loadu_ps(mask(na), rad_a + 16 * c);
        rb[c] = _mm512_maskz_loadu_ps(mask(nb), rad_b + 16 * c);
    }
    auto pick = [](const __m512 (&r)[2 * P], __m512i index) {
        __m512 out = _mm512_permutex2var_ps(r[0], index, r[1]);
        const __m512i pair = _mm512_srli_epi32(index, 5);
        for (int c = 1; c < P; ++c) {
            out = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(pair, _mm512_set1_epi32(c)), out,
                                       _mm512_permutex2var_ps(r[2 * c], index, r[2 * c + 1]));
        }
        return out;
    };
    auto radial = [&](int k) { return _mm512_sub_ps(pick(ra, _mm512_loadu_si512(rows + k)), pick(rb, _mm512_loadu_si512(cols + k))); };
    compatibility_row<FloatLanes>(z, ax, ay, bx, by, delta, radial, t, nr, rho_t);
}
#endif

// Compatibility rho(t, k) of every two seed pairs (MCC eq. 21): the product of the sigmoids
// Z(d1), Z(d2), Z(d3) of the differences in distance (d1), relative direction (d2) and radial
// angle (eq. 20, d3), computed as 1 / ((1 + e1)(1 + e2)(1 + e3)) with e_i = exp(-tau_i (d_i - mu_i));
// rho(t, t) = 0. The seeds' coordinates and direction differences are gathered once, so
// only d3 reads the per-template tables. Written by columns: row t of s.rho holds rho(k, t)
// over k (d1 and d2 are symmetric in t and k, and the radial tables are stored transposed, so
// the kernel of "row" t reads d_R(m_k, m_t)), which the relaxation reads a column at a time.
[[gnu::noinline]] void compatibility(const Prepared& a, const Prepared& b, int nr, Scratch& s) {
    const MccParams& p = a.model->params;
#if BASMA_AVX512_POPCNT || BASMA_AVX2
    const Sigmoids z(p);
#endif
    const int* rows = s.rows.data();
    const int* cols = s.cols.data();
    float* ax = s.seed_ax.data();
    float* ay = s.seed_ay.data();
    float* bx = s.seed_bx.data();
    float* by = s.seed_by.data();
    float* delta = s.seed_delta.data();
    for (int k = 0; k < nr; ++k) {
        ax[k] = a.X[rows[k]];
        ay[k] = a.Y[rows[k]];
        bx[k] = b.X[cols[k]];
        by[k] = b.Y[cols[k]];
        delta[k] = static_cast<float>(angle_diff(a.angled[rows[k]], b.angled[cols[k]]));   // in [-pi, pi)
    }
    // The vector kernels read whole vectors: up to Scratch::kSeedPadding entries past nr, harmless values
    // (minutia 0 exists: nr > 0). Their results land in each row's padding (see compatibility_row).
    for (int k = nr; k < nr + Scratch::kSeedPadding; ++k) {
        ax[k] = ay[k] = bx[k] = by[k] = delta[k] = 0.0f;
        s.rows[k] = s.cols[k] = 0;
    }
#if BASMA_AVX512_POPCNT
    const int pairs = (std::max(a.n, b.n) + 31) / 32;     // 32-entry register pairs per radial row
#endif
    for (int t = 0; t < nr; ++t) {
        const float* rad_a = a.radial.data() + static_cast<std::size_t>(rows[t]) * a.n;
        const float* rad_b = b.radial.data() + static_cast<std::size_t>(cols[t]) * b.n;
        float* rho_t = s.rho.data() + static_cast<std::size_t>(t) * Scratch::rho_stride(nr);
#if BASMA_AVX512_POPCNT || BASMA_AVX2
        // The radial angles of L::width pairs by gathers (AVX2: scalar loads).
        auto gathered = [&](int k) { return FloatLanes::sub(FloatLanes::gather(rad_a, rows + k), FloatLanes::gather(rad_b, cols + k)); };
#endif
#if BASMA_AVX512_POPCNT
        if (t + 1 < nr) {          // the next rows' radial angles, to L1: a candidate's table is seldom in cache
            prefetch_bytes<3>(a.radial.data() + static_cast<std::size_t>(rows[t + 1]) * a.n, a.n * sizeof(float));
            prefetch_bytes<3>(b.radial.data() + static_cast<std::size_t>(cols[t + 1]) * b.n, b.n * sizeof(float));
        }
        switch (pairs) {
            case 1: compatibility_row_in_registers<1>(z, ax, ay, bx, by, delta, rows, cols, rad_a, a.n, rad_b, b.n, t, nr, rho_t); break;
            case 2: compatibility_row_in_registers<2>(z, ax, ay, bx, by, delta, rows, cols, rad_a, a.n, rad_b, b.n, t, nr, rho_t); break;
            case 3: compatibility_row_in_registers<3>(z, ax, ay, bx, by, delta, rows, cols, rad_a, a.n, rad_b, b.n, t, nr, rho_t); break;
            case 4: compatibility_row_in_registers<4>(z, ax, ay, bx, by, delta, rows, cols, rad_a, a.n, rad_b, b.n, t, nr, rho_t); break;
            default: compatibility_row<FloatLanes>(z, ax, ay, bx, by, delta, gathered, t, nr, rho_t);   // over 128 minutiae
        }
#elif BASMA_AVX2
        compatibility_row<FloatLanes>(z, ax, ay, bx, by, delta, gathered, t, nr, rho_t);
#else
        for (int k = 0; k < nr; ++k) {
            const float dxa = ax[k] - ax[t], dya = ay[k] - ay[t], dxb = bx[k] - bx[t], dyb = by[k] - by[t];
            const float d1 = std::fabs(std::sqrt(dxa * dxa + dya * dya) - std::sqrt(dxb * dxb + dyb * dyb));
            const float d2 = std::fabs(wrap_pi(delta[t] - delta[k]));
            const float d3 = std::fabs(wrap_pi(rad_a[rows[k]] - rad_b[cols[k]]));
            rho_t[k] = static_cast<float>(sigmoid(d1, p.distance_mu_px, p.distance_tau) *
                                          sigmoid(d2, p.direction_mu_rad, p.direction_tau) *
                                          sigmoid(d3, p.radial_mu_rad, p.radial_tau));
        }
#endif
        rho_t[t] = 0.0f;
    }
}

// One iteration of the relaxation (MCC eq. 19) for the pairs t in [t0, t0 + width * V):
// sums[t] = sum_k rho(t, k) lambda[k], column k of rho being row k of s.rho (see compatibility()),
// so that lanes are pairs t and each lambda[k] is broadcast once: V independent sums, no
// horizontal reduction. Lanes past nr sum harmless finite padding; their results are not read.
#if BASMA_AVX512_POPCNT || BASMA_AVX2
template <int V>
void supports(const float* rho, int stride, const double* lambda, int nr, int t0, double* sums) {
    using L = DoubleLanes;
    typename L::V acc[V];
    for (int j = 0; j < V; ++j) acc[j] = L::set(0.0);
    for (int k = 0; k < nr; ++k) {
        const typename L::V lk = L::set(lambda[k]);
        const float* column = rho + static_cast<std::size_t>(k) * stride + t0;
        for (int j = 0; j < V; ++j) acc[j] = L::fmadd(L::load_floats(column + L::width * j), lk, acc[j]);
    }
    for (int j = 0; j < V; ++j) L::storeu(sums + t0 + L::width * j, acc[j]);
}
#endif

void supports(const float* rho, int stride, const double* lambda, int nr, double* sums) {
#if BASMA_AVX512_POPCNT || BASMA_AVX2
    constexpr int width = DoubleLanes::width;
    for (int t0 = 0; t0 < nr; t0 += 8 * width) {
        switch (std::min(8, (nr - t0 + width - 1) / width)) {
            case 1: supports<1>(rho, stride, lambda, nr, t0, sums); break;
            case 2: supports<2>(rho, stride, lambda, nr, t0, sums); break;
            case 3: supports<3>(rho, stride, lambda, nr, t0, sums); break;
            case 4: supports<4>(rho, stride, lambda, nr, t0, sums); break;
            case 5: supports<5>(rho, stride, lambda, nr, t0, sums); break;
            case 6: supports<6>(rho, stride, lambda, nr, t0, sums); break;
            case 7: supports<7>(rho, stride, lambda, nr, t0, sums); break;
            default: supports<8>(rho, stride, lambda, nr, t0, sums); break;
        }
    }
#else
    std::fill(sums, sums + nr, 0.0);
    for (int k = 0; k < nr; ++k) {
        const float* column = rho + static_cast<std::size_t>(k) * stride;
        for (int t = 0; t < nr; ++t) sums[t] += static_cast<double>(column[t]) * lambda[k];
    }
#endif
}

}  // namespace

double score(const Prepared& a, const Prepared& b, Scratch& s) {
    if (!(a.model->params == b.model->params)) throw std::invalid_argument("templates prepared with different parameters");
    const MccParams& p = a.model->params;
    if (a.usable_count == 0 || b.usable_count == 0) return 0.0;
    s.reserve(a.n, b.n);
    similarity_matrix(a, b, s);
    int want = std::min(a.usable_count, b.usable_count);                  // n_R = min(n_A, n_B)
    if (p.max_seeds > 0) want = std::min(want, p.max_seeds);
    const int nr = select_seeds(a, want, s);
    if (nr == 0) return 0.0;
    compatibility(a, b, nr, s);

    // Relaxation (MCC eq. 19), n_rel iterations.
    double* lambda = s.lambda.data();
    double* next = s.next.data();
    std::copy(s.lambda0.begin(), s.lambda0.begin() + nr, lambda);
    const double w = p.relaxation_weight;
    const double norm = 1.0 / std::max(nr - 1, 1);
    double* sums = s.efficiency.data();                    // free until the efficiencies below
    for (int it = 0; it < p.relaxation_iterations; ++it) {
        supports(s.rho.data(), Scratch::rho_stride(nr), lambda, nr, sums);
        for (int t = 0; t < nr; ++t) next[t] = w * lambda[t] + (1.0 - w) * sums[t] * norm;
        std::swap(lambda, next);
    }
    // Efficiency (eq. 22) picks the n_P pairs whose score held up best; the global score is
    // the mean of their relaxed similarities over n_P (eq. 23: fewer pairs count as zeros).
    const double z = 1.0 / (1.0 + std::exp(-p.pairs_tau * (std::min(a.usable_count, b.usable_count) - p.pairs_mu)));
    const int np = p.min_pairs + static_cast<int>(std::floor(z * (p.max_pairs - p.min_pairs) + 0.5));
    for (int t = 0; t < nr; ++t) s.efficiency[t] = lambda[t] / s.lambda0[t];
    const int take = std::min(np, nr);
    const double* eff = s.efficiency.data();
    // Ties (pairs without support all keep w^n_rel of their similarity) go by the greedy
    // order of the seeds: similarity descending, then probe minutia ascending.
    const double* initial = s.lambda0.data();
    const int* rows = s.rows.data();
    auto better = [eff, initial, rows](int l, int r) {
        return eff[l] > eff[r] ||
               (eff[l] == eff[r] && (initial[l] > initial[r] || (initial[l] == initial[r] && rows[l] < rows[r])));
    };
    int* best = s.best.data();
    int kept = 0;                                          // best[0 .. kept) in decreasing order
    for (int t = 0; t < nr; ++t) {
        if (kept == take && !better(t, best[kept - 1])) continue;
        int i = kept < take ? kept++ : kept - 1;
        for (; i > 0 && better(t, best[i - 1]); --i) best[i] = best[i - 1];
        best[i] = t;
    }
    double total = 0.0;
    for (int i = 0; i < take; ++i) total += lambda[best[i]];
    return total / np;
}

}  // namespace basma
