// Exact scans of inverted lists (hamming.hpp): Hamming k-NN and per-row best Dice similarities.
//
// Each thread takes whole lists from a shared counter and keeps, per query, the keys
// (distance << 40 | id) of its candidates below a bound: once a query holds 2k keys, the k
// smallest are kept and the largest of them becomes the bound (a code whose key is above it
// can no longer be among the k nearest). The threads' keys are merged and sorted at the end,
// so the result does not depend on the order in which lists were scanned.
//
// Row similarities: each thread raises, in a buffer of its own (one 64-byte line a row), the byte
// of (row, query) to the code's Dice similarity; a row's codes are spread over the lists, so the
// line is prefetched a few codes ahead (without that the scan waited on those lines most of its
// time). The buffers are merged by maximum; maxima and the integer sums after them do not depend
// on the order either.
#include "hamming.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <stdexcept>
#include <type_traits>

#include "pool.hpp"

#if !BASMA_PORTABLE && defined(__AVX512F__) && defined(__AVX512VPOPCNTDQ__)
#define BASMA_HAMMING_AVX512 1
#define BASMA_HAMMING_AVX2 0
#include <immintrin.h>
#elif !BASMA_PORTABLE && defined(__AVX2__)
#define BASMA_HAMMING_AVX512 0
#define BASMA_HAMMING_AVX2 1
#include <immintrin.h>
#else
#define BASMA_HAMMING_AVX512 0
#define BASMA_HAMMING_AVX2 0
#endif

namespace basma {
namespace {

constexpr int kIdBits = 40;
constexpr std::uint64_t kIdMask = (std::uint64_t{1} << kIdBits) - 1;
constexpr int kMaxWords = 16;   // codes of up to 128 bytes
constexpr std::size_t kAhead = 12;   // codes between a row line's prefetch and its use

struct Kept {
    std::vector<std::uint64_t> keys;
    std::uint64_t bound = UINT64_MAX;   // keys at or above it cannot be among the k nearest
    int bound_distance = INT_MAX;
};

inline void offer(Kept& kept, int distance, std::int64_t id, std::size_t k) {
    // Ids are below 2^40 by contract (hamming.hpp); the mask keeps a broken one from spilling into the distance.
    const std::uint64_t key = (static_cast<std::uint64_t>(distance) << kIdBits) | (static_cast<std::uint64_t>(id) & kIdMask);
    if (key >= kept.bound) return;
    kept.keys.push_back(key);
    if (kept.keys.size() >= 2 * k) {
        std::nth_element(kept.keys.begin(), kept.keys.begin() + static_cast<std::ptrdiff_t>(k - 1), kept.keys.end());
        kept.keys.resize(k);
        kept.bound = *std::max_element(kept.keys.begin(), kept.keys.end());
        kept.bound_distance = static_cast<int>(kept.bound >> kIdBits);
    }
}

// The code's words, the bytes past code_bytes zero (unaligned codes of any length).
inline void load_words(const std::uint8_t* code, int code_bytes, std::uint64_t* words) {
    const int full = code_bytes / 8;
    std::memcpy(words, code, static_cast<std::size_t>(full) * 8);
    if (code_bytes % 8) {
        words[full] = 0;
        std::memcpy(words + full, code + full * 8, static_cast<std::size_t>(code_bytes % 8));
    }
}

// Where a scan writes each row's best similarity per query (hamming.hpp, hamming_scan): the row of
// code id i is i >> row_shift, its bytes best[row * stride + q].
struct RowBest {
    std::uint8_t* best = nullptr;   // null: no row similarities wanted
    std::size_t stride = 0;
    int row_shift = 0;
    std::int64_t rows = 0;
};

// floor(255 * (1 - d / (a + b))), the Dice coefficient 2|q & c| / (|q| + |c|) of two codes of a and
// b bits at Hamming distance d (MCC's bit-based similarity, Cappelli et al. 2010, eq. 17, which is
// the same ratio), in 0..255; 0 for two empty codes.
inline std::uint8_t dice(int d, int a, int b) {
    const int den = a + b;
    return den == 0 ? 0 : static_cast<std::uint8_t>((255 * (den - d)) / den);
}

inline void raise(std::uint8_t& slot, std::uint8_t value) {
    if (value > slot) slot = value;
}

// The row line of code c of `list` (null when its row is past rb.rows), after asking for the line
// of code c + kAhead: a row's codes are spread over the lists, so lines are random and are
// fetched a few codes before they are needed.
inline std::uint8_t* row_line(const RowBest& rb, const CodeList& list, std::size_t c) {
    if (c + kAhead < list.size) {
        const std::uint64_t ahead = static_cast<std::uint64_t>(list.ids[c + kAhead]) >> rb.row_shift;
        if (ahead < static_cast<std::uint64_t>(rb.rows)) __builtin_prefetch(rb.best + ahead * rb.stride, 0, 3);
    }
    const std::uint64_t row = static_cast<std::uint64_t>(list.ids[c]) >> rb.row_shift;
    return row < static_cast<std::uint64_t>(rb.rows) ? rb.best + row * rb.stride : nullptr;
}

#if BASMA_HAMMING_AVX512
// The queries transposed by groups of 8: block[g * words + w] holds word w of queries 8g..8g+7,
// so one broadcast word of a code meets 8 queries in one XOR and one VPOPCNTQ. Words is a
// template parameter (codes of up to 64 bytes) so that the code's words stay in registers.
template <int Words>
void scan_codes(const CodeList& list, int code_bytes, const std::vector<__m512i>& block, int groups, const int* which,
                int count, std::size_t k, std::vector<Kept>& kept, const RowBest& rb, const int* query_bits) {
    alignas(64) std::int64_t lane[8];
    std::vector<__m512i> bounds(static_cast<std::size_t>(groups));
    auto refresh = [&](int g) {
        for (int j = 0; j < 8; ++j) {
            lane[j] = g * 8 + j < count ? kept[which[g * 8 + j]].bound_distance : -1;   // padding lanes never pass
        }
        bounds[g] = _mm512_load_si512(lane);
    };
    for (int g = 0; g < groups; ++g) refresh(g);
    // Row similarities: the groups' query bit counts as floats, and which lanes hold a query.
    std::vector<__m256> bits(static_cast<std::size_t>(groups));
    std::vector<__mmask8> real(static_cast<std::size_t>(groups));
    bool contiguous = true;   // which[i] == i: a group's 8 bytes of a row are written at once
    for (int i = 0; i < count; ++i) contiguous = contiguous && which[i] == i;
    if (rb.best != nullptr) {
        for (int g = 0; g < groups; ++g) {
            alignas(32) float lane_bits[8];
            for (int j = 0; j < 8; ++j) lane_bits[j] = g * 8 + j < count ? static_cast<float>(query_bits[which[g * 8 + j]]) : 0.0f;
            bits[g] = _mm256_load_ps(lane_bits);
            real[g] = static_cast<__mmask8>(count - g * 8 >= 8 ? 0xFF : (1u << (count - g * 8)) - 1);
        }
    }
    const __m256 scale = _mm256_set1_ps(255.0f);
    std::uint64_t code[kMaxWords];
    for (std::size_t c = 0; c < list.size; ++c) {
        load_words(list.codes + c * code_bytes, code_bytes, code);
        __m512i broadcast[Words];
        for (int w = 0; w < Words; ++w) broadcast[w] = _mm512_set1_epi64(static_cast<long long>(code[w]));
        std::uint8_t* row_best = nullptr;
        __m256 code_bits = _mm256_setzero_ps();
        if (rb.best != nullptr) {
            row_best = row_line(rb, list, c);
            int ones = 0;
            for (int w = 0; w < Words; ++w) ones += __builtin_popcountll(code[w]);
            code_bits = _mm256_set1_ps(static_cast<float>(ones));
        }
        for (int g = 0; g < groups; ++g) {
            const __m512i* q = block.data() + static_cast<std::size_t>(g) * Words;
            __m512i sum = _mm512_popcnt_epi64(_mm512_xor_si512(broadcast[0], q[0]));
            for (int w = 1; w < Words; ++w) {
                sum = _mm512_add_epi64(sum, _mm512_popcnt_epi64(_mm512_xor_si512(broadcast[w], q[w])));
            }
            if (row_best != nullptr) {
                // dice(): 255 (den - d) / den in floats is exact enough that truncation is the
                // integer floor (a quotient of integers below 2^18 that is not an integer lies at
                // least 1 / den >= 1/2048 below the next one, far more than a float's rounding
                // near 255), so the bytes equal the scalar path's.
                const __m256 den = _mm256_add_ps(bits[g], code_bits);
                const __mmask8 ok = _mm256_mask_cmp_ps_mask(real[g], den, _mm256_setzero_ps(), _CMP_GT_OQ);
                const __m256 num = _mm256_mul_ps(scale, _mm256_sub_ps(den, _mm512_cvtepi64_ps(sum)));
                const __m256 ratio = _mm256_maskz_div_ps(ok, num, den);
                const __m128i bytes = _mm256_cvtepi32_epi8(_mm256_cvttps_epi32(ratio));
                if (contiguous) {
                    std::uint8_t* slot = row_best + g * 8;
                    const __m128i now = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(slot));
                    _mm_storel_epi64(reinterpret_cast<__m128i*>(slot), _mm_max_epu8(now, bytes));
                } else {
                    alignas(16) std::uint8_t lane_bytes[16];
                    _mm_store_si128(reinterpret_cast<__m128i*>(lane_bytes), bytes);
                    for (int j = 0; j < 8 && g * 8 + j < count; ++j) raise(row_best[which[g * 8 + j]], lane_bytes[j]);
                }
            }
            if (k == 0) continue;
            __mmask8 pass = _mm512_cmple_epi64_mask(sum, bounds[g]);
            if (pass == 0) continue;
            _mm512_store_si512(lane, sum);
            while (pass) {
                const int j = __builtin_ctz(pass);
                pass &= pass - 1;
                offer(kept[which[g * 8 + j]], static_cast<int>(lane[j]), list.ids[c], k);
            }
            refresh(g);
        }
    }
}
#endif

// The portable and AVX2 scan of one list (scan_list): Words > 0 fixes the code's words at
// compile time (codes of up to 64 bytes: the distance loop unrolled), 0 reads them from `words`.
template <int Words>
void scan_words(const CodeList& list, int code_bytes, int words_given, const std::uint64_t* query_words,
                const int* which, int count, std::size_t k, std::vector<Kept>& kept, const RowBest& rb,
                const int* query_bits) {
    const int words = Words > 0 ? Words : words_given;
    // A code's distances to the queries first (scalar popcounts), then its row similarities
    // (AVX2: dice() of 8 queries at once in floats, exact as in scan_codes, and one byte-wise
    // maximum where the queries are the row's first ones in order), then the neighbour offers.
    std::uint64_t code[kMaxWords];
    std::vector<int> distance(static_cast<std::size_t>(count));
#if BASMA_HAMMING_AVX2
    std::vector<float> bits(static_cast<std::size_t>(count));
    bool contiguous = true;
    for (int i = 0; i < count; ++i) {
        bits[i] = static_cast<float>(query_bits[which[i]]);
        contiguous = contiguous && which[i] == i;
    }
    const __m256 scale = _mm256_set1_ps(255.0f);
    // The low byte of each 32-bit lane, per 128-bit half: bytes 0-3 of each half.
    const __m256i low_bytes = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                               0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
#endif
    for (std::size_t c = 0; c < list.size; ++c) {
        load_words(list.codes + c * code_bytes, code_bytes, code);
        std::uint8_t* row_best = nullptr;
        int ones = 0;
        if (rb.best != nullptr) {
            row_best = row_line(rb, list, c);
            for (int w = 0; w < words; ++w) ones += __builtin_popcountll(code[w]);
        }
        for (int i = 0; i < count; ++i) {
            const std::uint64_t* q = query_words + static_cast<std::size_t>(which[i]) * words;
            int d = 0;
            for (int w = 0; w < words; ++w) d += __builtin_popcountll(code[w] ^ q[w]);
            distance[i] = d;
        }
        if (row_best != nullptr) {
            int i = 0;
#if BASMA_HAMMING_AVX2
            const __m256 code_bits = _mm256_set1_ps(static_cast<float>(ones));
            for (; i + 8 <= count; i += 8) {
                const __m256 den = _mm256_add_ps(_mm256_loadu_ps(bits.data() + i), code_bits);
                const __m256 d = _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(distance.data() + i)));
                const __m256 ratio = _mm256_and_ps(_mm256_cmp_ps(den, _mm256_setzero_ps(), _CMP_GT_OQ),
                                                   _mm256_div_ps(_mm256_mul_ps(scale, _mm256_sub_ps(den, d)), den));
                const __m256i gathered = _mm256_shuffle_epi8(_mm256_cvttps_epi32(ratio), low_bytes);
                const __m128i bytes = _mm_unpacklo_epi32(_mm256_castsi256_si128(gathered), _mm256_extracti128_si256(gathered, 1));
                if (contiguous) {
                    std::uint8_t* slot = row_best + i;
                    const __m128i now = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(slot));
                    _mm_storel_epi64(reinterpret_cast<__m128i*>(slot), _mm_max_epu8(now, bytes));
                } else {
                    alignas(16) std::uint8_t lane[16];
                    _mm_store_si128(reinterpret_cast<__m128i*>(lane), bytes);
                    for (int j = 0; j < 8; ++j) raise(row_best[which[i + j]], lane[j]);
                }
            }
#endif
            for (; i < count; ++i) raise(row_best[which[i]], dice(distance[i], query_bits[which[i]], ones));
        }
        if (k == 0) continue;
        for (int i = 0; i < count; ++i) {
            Kept& mine = kept[which[i]];
            if (distance[i] <= mine.bound_distance) offer(mine, distance[i], list.ids[c], k);
        }
    }
}

// f(std::integral_constant<int, words>) for words 1..8 (a kernel with the code's words fixed at
// compile time), f(std::integral_constant<int, 0>) beyond (words read at run time).
template <class F>
void with_words(int words, F&& f) {
    switch (words) {
        case 1: return f(std::integral_constant<int, 1>{});
        case 2: return f(std::integral_constant<int, 2>{});
        case 3: return f(std::integral_constant<int, 3>{});
        case 4: return f(std::integral_constant<int, 4>{});
        case 5: return f(std::integral_constant<int, 5>{});
        case 6: return f(std::integral_constant<int, 6>{});
        case 7: return f(std::integral_constant<int, 7>{});
        case 8: return f(std::integral_constant<int, 8>{});
        default: return f(std::integral_constant<int, 0>{});
    }
}

// Scans one list for the queries `which` (count of them), keeping candidates in kept[query].
void scan_list(const CodeList& list, int code_bytes, const std::uint64_t* query_words, const int* which, int count,
               std::size_t k, std::vector<Kept>& kept, const RowBest& rb, const int* query_bits) {
    const int words = (code_bytes + 7) / 8;
#if BASMA_HAMMING_AVX512
    if (words <= 8) {
        const int groups = (count + 7) / 8;
        std::vector<__m512i> block(static_cast<std::size_t>(groups) * words);
        for (int g = 0; g < groups; ++g) {
            for (int w = 0; w < words; ++w) {
                alignas(64) std::uint64_t lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                for (int j = 0; j < 8 && g * 8 + j < count; ++j) lane[j] = query_words[which[g * 8 + j] * words + w];
                block[static_cast<std::size_t>(g) * words + w] = _mm512_load_si512(lane);
            }
        }
        with_words(words, [&](auto fixed) {   // words <= 8 here: the default case is never taken
            constexpr int kWords = decltype(fixed)::value > 0 ? decltype(fixed)::value : 8;
            scan_codes<kWords>(list, code_bytes, block, groups, which, count, k, kept, rb, query_bits);
        });
        return;
    }
    scan_words<0>(list, code_bytes, words, query_words, which, count, k, kept, rb, query_bits);   // codes over 64 bytes
#else
    with_words(words, [&](auto fixed) {
        scan_words<decltype(fixed)::value>(list, code_bytes, words, query_words, which, count, k, kept, rb, query_bits);
    });
#endif
}

// Row buffers are kept between scans: allocating (and the kernel zeroing) 64 MB a thread for
// every second pass over a million fingers, then unmapping it, took most of the scan's time.
// A buffer goes back to the pool when its scan ends (Scratch's destructor) while the pool holds
// at most kRetain bytes (two threads over a million fingers need 128 MB), else it is freed.
constexpr std::size_t kRetain = std::size_t{256} << 20;
std::mutex scratch_lock;
std::vector<std::pair<void*, std::size_t>> scratch_pool;   // (memory, bytes), free buffers

std::size_t pooled_bytes() {
    std::size_t total = 0;
    for (const auto& entry : scratch_pool) total += entry.second;
    return total;
}

struct Scratch {
    void* memory = nullptr;   // 2 MB aligned
    std::size_t bytes = 0;
    Scratch() = default;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    Scratch(Scratch&& other) noexcept : memory(other.memory), bytes(other.bytes) { other.memory = nullptr; }
    std::uint8_t* data() const { return static_cast<std::uint8_t*>(memory); }
    ~Scratch() {
        if (memory == nullptr) return;
        std::lock_guard<std::mutex> lock(scratch_lock);
        if (pooled_bytes() + bytes <= kRetain) {
            scratch_pool.emplace_back(memory, bytes);
        } else {
            std::free(memory);
        }
    }
};

Scratch take_scratch(std::size_t bytes) {
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    Scratch scratch;
    {
        std::lock_guard<std::mutex> lock(scratch_lock);
        for (std::size_t i = 0; i < scratch_pool.size(); ++i) {
            if (scratch_pool[i].second >= bytes) {
                scratch.memory = scratch_pool[i].first;
                scratch.bytes = scratch_pool[i].second;
                scratch_pool.erase(scratch_pool.begin() + static_cast<std::ptrdiff_t>(i));
                break;
            }
        }
        if (scratch.memory == nullptr && !scratch_pool.empty()) {   // too small: replaced by a larger one
            std::free(scratch_pool.back().first);
            scratch_pool.pop_back();
        }
    }
    if (scratch.memory == nullptr) {
        scratch.bytes = (bytes + kHuge - 1) / kHuge * kHuge;
        scratch.memory = std::aligned_alloc(kHuge, scratch.bytes);
        if (scratch.memory == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
        madvise(scratch.memory, scratch.bytes, MADV_HUGEPAGE);   // random rows: fewer TLB misses
#endif
    }
    return scratch;
}

// Per-query medians of the rows' best similarities, then each row's score (hamming.hpp).
void row_scores(const std::uint8_t* best, std::size_t stride, std::int64_t rows, int nq, int threads,
                std::int32_t* scores) {
    const std::size_t bins = 256;
    std::vector<std::int64_t> histogram(static_cast<std::size_t>(nq) * bins, 0);
    std::vector<std::uint8_t> seen(static_cast<std::size_t>(rows), 0);
    std::mutex merging;
    std::atomic<std::int64_t> next{0};
    constexpr std::int64_t kBlock = 4096;
    run_parallel(std::max(1, threads), [&]() {
        std::vector<std::int64_t> mine(histogram.size(), 0);
        for (std::int64_t first; (first = next.fetch_add(kBlock)) < rows;) {
            for (std::int64_t r = first; r < std::min(rows, first + kBlock); ++r) {
                const std::uint8_t* line = best + static_cast<std::size_t>(r) * stride;
                bool any = false;
                for (int q = 0; q < nq; ++q) any = any || line[q] != 0;
                if (!any) continue;
                seen[r] = 1;
                for (int q = 0; q < nq; ++q) ++mine[static_cast<std::size_t>(q) * bins + line[q]];
            }
        }
        std::lock_guard<std::mutex> lock(merging);
        for (std::size_t i = 0; i < mine.size(); ++i) histogram[i] += mine[i];
    });
    std::vector<int> median(static_cast<std::size_t>(nq), 0);
    for (int q = 0; q < nq; ++q) {
        const std::int64_t* h = histogram.data() + static_cast<std::size_t>(q) * bins;
        std::int64_t count = 0;
        for (std::size_t v = 0; v < bins; ++v) count += h[v];
        const std::int64_t half = (count + 1) / 2;   // the lower median: sorted[(count - 1) / 2]
        std::int64_t below = 0;
        for (std::size_t v = 0; v < bins; ++v) {
            below += h[v];
            if (below >= half) { median[q] = static_cast<int>(v); break; }
        }
    }
    next = 0;
    run_parallel(std::max(1, threads), [&]() {
        for (std::int64_t first; (first = next.fetch_add(kBlock)) < rows;) {
            for (std::int64_t r = first; r < std::min(rows, first + kBlock); ++r) {
                const std::uint8_t* line = best + static_cast<std::size_t>(r) * stride;
                std::int32_t sum = 0;
                if (seen[r]) {
                    for (int q = 0; q < nq; ++q) sum += std::max(0, line[q] - median[q]);
                }
                scores[r] = sum;
            }
        }
    });
}

}  // namespace

void hamming_scan(const std::vector<CodeList>& lists, int code_bytes, const std::uint8_t* queries, int nq, int k,
                  const std::int64_t* list_offsets, const std::int32_t* list_queries, int threads,
                  std::int64_t* labels, std::int32_t* distances, int row_shift, std::int64_t rows,
                  std::int32_t* scores) {
    if (code_bytes <= 0 || code_bytes > 8 * kMaxWords) throw std::invalid_argument("code_bytes must be 1..128");
    if (k < 0) throw std::invalid_argument("k must be >= 0");
    if (rows < 0 || row_shift < 0 || row_shift > 62) throw std::invalid_argument("rows and row_shift must be >= 0");
    threads = std::max(1, threads);
    const int words = (code_bytes + 7) / 8;
    std::vector<std::uint64_t> query_words(static_cast<std::size_t>(nq) * words);
    std::vector<int> query_bits(static_cast<std::size_t>(nq), 0);
    for (int q = 0; q < nq; ++q) {
        std::uint64_t* w = query_words.data() + static_cast<std::size_t>(q) * words;
        load_words(queries + static_cast<std::size_t>(q) * code_bytes, code_bytes, w);
        for (int i = 0; i < words; ++i) query_bits[q] += __builtin_popcountll(w[i]);
    }
    std::vector<int> everyone(static_cast<std::size_t>(nq));
    for (int q = 0; q < nq; ++q) everyone[q] = q;
    const std::size_t kk = static_cast<std::size_t>(k);
    // Row similarities: a byte per query, each row's bytes starting a cache line (one line up to
    // 64 queries: fetched ahead, written whole), a buffer per thread (a row's codes are spread
    // over the lists), merged by maximum after the scan.
    constexpr std::size_t kLine = 64;
    const std::size_t stride = rows > 0 ? (static_cast<std::size_t>(nq) + kLine - 1) / kLine * kLine : 0;
    const std::size_t cells = stride * static_cast<std::size_t>(rows);
    std::vector<Scratch> buffers;
    for (int t = 0; t < (cells > 0 ? threads : 0); ++t) buffers.push_back(take_scratch(cells));
    std::vector<std::vector<std::uint64_t>> merged(static_cast<std::size_t>(nq));
    std::mutex merging;
    std::atomic<std::size_t> next{0};
    std::atomic<int> thread_number{0};
    run_parallel(threads, [&]() {
        const int t = thread_number.fetch_add(1);
        RowBest rb;
        if (cells > 0 && t < threads) {
            std::memset(buffers[t].data(), 0, cells);   // each thread clears its own buffer
            rb = {buffers[t].data(), stride, row_shift, rows};
        }
        std::vector<Kept> kept(static_cast<std::size_t>(nq));
        std::vector<int> which;
        for (std::size_t l; (l = next.fetch_add(1)) < lists.size();) {
            if (lists[l].size == 0) continue;
            if (list_offsets == nullptr) {
                scan_list(lists[l], code_bytes, query_words.data(), everyone.data(), nq, kk, kept, rb,
                          query_bits.data());
            } else {
                which.assign(list_queries + list_offsets[l], list_queries + list_offsets[l + 1]);
                if (!which.empty()) scan_list(lists[l], code_bytes, query_words.data(), which.data(),
                                              static_cast<int>(which.size()), kk, kept, rb, query_bits.data());
            }
        }
        if (k == 0) return;
        std::lock_guard<std::mutex> lock(merging);
        for (int q = 0; q < nq; ++q) merged[q].insert(merged[q].end(), kept[q].keys.begin(), kept[q].keys.end());
    });
    for (int q = 0; k > 0 && q < nq; ++q) {
        std::vector<std::uint64_t>& keys = merged[q];
        const std::size_t n = std::min(kk, keys.size());
        std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n), keys.end());
        for (std::size_t i = 0; i < kk; ++i) {
            labels[q * kk + i] = i < n ? static_cast<std::int64_t>(keys[i] & kIdMask) : -1;
            distances[q * kk + i] = i < n ? static_cast<std::int32_t>(keys[i] >> kIdBits) : INT32_MAX;
        }
    }
    if (rows == 0) return;
    std::uint8_t* best = buffers[0].data();
    for (std::size_t t = 1; t < buffers.size(); ++t) {
        const std::uint8_t* other = buffers[t].data();
        for (std::size_t i = 0; i < cells; ++i) best[i] = std::max(best[i], other[i]);
    }
    row_scores(best, stride, rows, nq, threads, scores);
}

}  // namespace basma
