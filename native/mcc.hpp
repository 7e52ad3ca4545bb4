// Minutia Cylinder-Code, bit-vector form (Cappelli, Ferrara & Maltoni, IEEE TPAMI 32(12),
// 2010; "MCC" below), with relaxation-based consolidation (MCC section 5).
//
// A template's search form (Prepared) is built once and then only read: bit cylinders
// (values and validity interleaved per cylinder, 64-byte aligned), minutiae in the as-viewed
// frame (X = x, Y = -y), and the pairwise radial-angle table the relaxation
// reads. Scoring allocates nothing once its caller-owned Scratch has grown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace basma {

// Which kernels this build uses: "avx512-vpopcntdq", "avx2" or "scalar".
const char* simd_name();

// Every tunable of matcher.params.MatchingParams, in the same units.
struct MccParams {
    double radius_px = 70.0;
    int spatial_cells = 16;
    int angular_cells = 6;
    double sigma_spatial_px = 28.0 / 3.0;
    double sigma_direction_rad = 0.6981317007977318;
    double bit_threshold = 0.01;
    double hull_offset_px = 50.0;
    double min_valid_cells = 0.75;
    int min_contributors = 2;
    int top_cells = 0;                   // 0: Psi_Bit; K: only the K largest cells above bit_threshold
    double min_matchable_cells = 0.60;
    double max_direction_diff_rad = 1.5707963267948966;
    int min_pairs = 4;
    int max_pairs = 12;
    double pairs_mu = 20.0;
    double pairs_tau = 0.4;
    int max_seeds = 0;                   // cap on n_R (0: min(n_A, n_B) as in the paper)
    int relaxation_iterations = 5;
    double relaxation_weight = 0.5;
    double distance_mu_px = 5.0;
    double distance_tau = -1.6;
    double direction_mu_rad = 0.2617993877499915;
    double direction_tau = -30.0;
    double radial_mu_rad = 0.2617993877499915;
    double radial_tau = -30.0;

    bool operator==(const MccParams& o) const;
};

// Derived constants shared by every template prepared with one MccParams.
class MccModel {
public:
    explicit MccModel(const MccParams& params);

    const MccParams params;
    int circle_cells;          // cells (2-D) whose centre lies inside the base circle
    int words;                 // 64-bit words per bit vector: N_D * circle_cells bits
    std::vector<int> circle_index;  // the 2-D cells inside the circle, row-major order
    std::vector<int> row_first, row_last;  // per grid row: first and last column inside the circle
    std::vector<int> row_start;            // ... and the circle index r of its first such cell
    std::vector<double> root;       // sqrt(0 .. 2 * bits): the bit-vector norms (MCC section 4.1)
    std::vector<double> u, v;  // cell-centre offsets in the minutia frame, N_S^2 each
};

struct Prepared {
    std::shared_ptr<const MccModel> model;
    int n = 0;                           // minutiae
    int usable_count = 0;                // valid cylinders
    std::vector<float> X, Y;             // as-viewed frame, for the compatibilities
    std::vector<double> angled;          // directions, for the direction tests
    std::vector<std::uint8_t> usable;
    std::vector<int> value_count, valid_count;   // per cylinder: set bits of its values and of its validity
    // n cylinders, each [values: words][valid: words].
    std::unique_ptr<std::uint64_t[], void (*)(void*)> bits{nullptr, nullptr};
    std::vector<float> radial;           // n x n, row k: d_R(m_i, m_k) over i (MCC eq. 20, transposed)
    // Usable cylinders in increasing direction (the direction windows of eq. 17).
    std::vector<int> by_angle;           // minutia index per sorted position
    std::vector<double> sorted_angle;    // their directions
    // The candidate-side layout of AVX-512 and AVX2 builds: the usable cylinders in two groups, those
    // valid in every cell (full: only their values are stored, the validity is all ones) and
    // the others, each in increasing direction and stored word by word: plane w holds word w of
    // every cylinder of the group, so 8 consecutive cylinders are one 512-bit load (two 256-bit
    // ones) and one probe cylinder is compared with 8 candidates at once, a full cylinder with
    // fewer popcounts. The sequence is stored twice in a row (positions count .. 2 count - 1
    // repeat 0 .. count - 1), so a direction window that wraps around 2 pi is one contiguous
    // run; the rest of each plane is zero. The scalar build compares cylinder by cylinder
    // (by_angle above).
    static constexpr int kLanes = 8;
    struct Group {
        bool full = false;
        int count = 0;
        int stride = 0;                                  // positions per plane: 2 count + 8, rounded up to 8
        std::vector<int> by_angle;                       // minutia index per position
        std::vector<double> sorted_angle;                // their directions
        std::vector<long long> value_count, valid_count; // their set and valid cells
        std::vector<double> value_root;                  // sqrt(value_count): the norm of eq. 17
        std::unique_ptr<std::uint64_t[], void (*)(void*)> bits{nullptr, nullptr};
        // Word w of the values at position k; of a partial group, the validity follows the
        // values plane by plane.
        const std::uint64_t* values(int w, int k) const {
            return bits.get() + static_cast<std::size_t>(w) * (full ? 1 : 2) * stride + k;
        }
        const std::uint64_t* valid(int w, int k) const { return values(w, k) + stride; }
        std::size_t nbytes(int words) const;
    };
    Group groups[2];                     // [0]: full cylinders, [1]: the others

    const std::uint64_t* values(int i) const { return bits.get() + static_cast<std::size_t>(i) * 2 * model->words; }
    const std::uint64_t* valid(int i) const { return values(i) + model->words; }
    std::size_t nbytes() const;
};

// Build the search form of a template (MCC section 3). x, y are image-frame pixels at the
// working resolution; angle radians counter-clockwise as viewed.
Prepared prepare(std::shared_ptr<const MccModel> model, const double* x, const double* y,
                 const float* angle, int n);

// Ask the CPU to bring a prepared template's search form toward the cache (prefetch hints only):
// a batch scorer calls it for the next candidate while it scores the current one, whose data is
// otherwise fetched from memory or the last-level cache line by line as the kernels reach it.
void prefetch(const Prepared& t);

// Per-thread working memory for score(); sized on first use, reused afterwards.
struct Scratch {
    // Gamma (MCC eq. 17) as a dense matrix: row i holds probe minutia i, `stride` columns a
    // row, each entry the bits of a non-negative double (so integer order is value order; 0:
    // no similarity). The kernels may order the columns their own way: column_minutia[q] is the
    // candidate minutia of column q, column_of its inverse.
    std::vector<std::uint64_t> gamma;
    int stride = 0;
    std::vector<std::int64_t> column_minutia;
    std::vector<int> column_of;
    std::vector<std::int64_t> column_max, column_best;   // the seed selection's column maxima
    std::vector<std::int64_t> column_live;               // ... and its free columns (all ones) and taken ones (0)
    std::vector<int> live, stale, row_best, picked_row, picked_column;
    std::vector<int> window_begin[2], window_end[2];     // each probe row's direction window per group
    std::vector<std::uint64_t> picked_value;
    // The seeds, in the order the selection took them (in decreasing similarity only when a
    // max_seeds cap truncated them); these arrays and rho have kSeedPadding entries of slack
    // (the compatibility kernel reads and writes whole vectors).
    static constexpr int kSeedPadding = 16;
    std::vector<int> rows, cols;
    std::vector<double> lambda0, lambda, next, efficiency;
    // The n_R x n_R compatibilities by columns: row k holds rho(t, k) for every t, rows
    // rho_stride(n_R) entries apart (entries past n_R: finite padding).
    std::vector<float> rho;
    static int rho_stride(int nr) { return (nr + kSeedPadding - 1) / kSeedPadding * kSeedPadding; }
    std::vector<float> seed_ax, seed_ay, seed_bx, seed_by, seed_delta;   // the seeds' geometry
    std::vector<int> best;
    void reserve(int na, int nb);
};

// Local similarity matrix Gamma (MCC eq. 17 with the bit norms); out has a.n * b.n entries.
void local_similarities(const Prepared& a, const Prepared& b, double* out);

// Gamma of a and b into s.gamma (a.n rows; zero where the similarity is zero, the pair not
// comparable or outside the direction window), with s.stride, s.column_minutia and s.column_of
// set; returns the number of columns used.
int similarity_matrix(const Prepared& a, const Prepared& b, Scratch& s);

// Global score in [0, 1] (MCC section 5.2 relaxation on greedy one-to-one pairs).
double score(const Prepared& a, const Prepared& b, Scratch& scratch);

}  // namespace basma
