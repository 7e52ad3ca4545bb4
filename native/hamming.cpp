// Exact Hamming k-NN over inverted lists (hamming.hpp).
//
// Each thread takes whole lists from a shared counter and keeps, per query, the keys
// (distance << 40 | id) of its candidates below a bound: once a query holds 2k keys, the k
// smallest are kept and the largest of them becomes the bound (a code whose key is above it
// can no longer be among the k nearest). The threads' keys are merged and sorted at the end,
// so the result does not depend on the order in which lists were scanned.
#include "hamming.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "pool.hpp"

#if !BASMA_PORTABLE && defined(__AVX512F__) && defined(__AVX512VPOPCNTDQ__)
#define BASMA_HAMMING_AVX512 1
#include <immintrin.h>
#else
#define BASMA_HAMMING_AVX512 0
#endif

namespace basma {
namespace {

constexpr int kIdBits = 40;
constexpr std::uint64_t kIdMask = (std::uint64_t{1} << kIdBits) - 1;
constexpr int kMaxWords = 16;   // codes of up to 128 bytes

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

#if BASMA_HAMMING_AVX512
// The queries transposed by groups of 8: block[g * words + w] holds word w of queries 8g..8g+7,
// so one broadcast word of a code meets 8 queries in one XOR and one VPOPCNTQ. Words is a
// template parameter (codes of up to 64 bytes) so that the code's words stay in registers.
template <int Words>
void scan_codes(const CodeList& list, int code_bytes, const std::vector<__m512i>& block, int groups, const int* which,
                int count, std::size_t k, std::vector<Kept>& kept) {
    alignas(64) std::int64_t lane[8];
    std::vector<__m512i> bounds(static_cast<std::size_t>(groups));
    auto refresh = [&](int g) {
        for (int j = 0; j < 8; ++j) {
            lane[j] = g * 8 + j < count ? kept[which[g * 8 + j]].bound_distance : -1;   // padding lanes never pass
        }
        bounds[g] = _mm512_load_si512(lane);
    };
    for (int g = 0; g < groups; ++g) refresh(g);
    std::uint64_t code[kMaxWords];
    for (std::size_t c = 0; c < list.size; ++c) {
        load_words(list.codes + c * code_bytes, code_bytes, code);
        __m512i broadcast[Words];
        for (int w = 0; w < Words; ++w) broadcast[w] = _mm512_set1_epi64(static_cast<long long>(code[w]));
        for (int g = 0; g < groups; ++g) {
            const __m512i* q = block.data() + static_cast<std::size_t>(g) * Words;
            __m512i sum = _mm512_popcnt_epi64(_mm512_xor_si512(broadcast[0], q[0]));
            for (int w = 1; w < Words; ++w) {
                sum = _mm512_add_epi64(sum, _mm512_popcnt_epi64(_mm512_xor_si512(broadcast[w], q[w])));
            }
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

// Scans one list for the queries `which` (count of them), keeping candidates in kept[query].
void scan_list(const CodeList& list, int code_bytes, const std::uint64_t* query_words, const int* which, int count,
               std::size_t k, std::vector<Kept>& kept) {
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
        switch (words) {
            case 1: return scan_codes<1>(list, code_bytes, block, groups, which, count, k, kept);
            case 2: return scan_codes<2>(list, code_bytes, block, groups, which, count, k, kept);
            case 3: return scan_codes<3>(list, code_bytes, block, groups, which, count, k, kept);
            case 4: return scan_codes<4>(list, code_bytes, block, groups, which, count, k, kept);
            case 5: return scan_codes<5>(list, code_bytes, block, groups, which, count, k, kept);
            case 6: return scan_codes<6>(list, code_bytes, block, groups, which, count, k, kept);
            case 7: return scan_codes<7>(list, code_bytes, block, groups, which, count, k, kept);
            default: return scan_codes<8>(list, code_bytes, block, groups, which, count, k, kept);
        }
    }
#endif
    std::uint64_t code[kMaxWords];
    for (std::size_t c = 0; c < list.size; ++c) {
        load_words(list.codes + c * code_bytes, code_bytes, code);
        for (int i = 0; i < count; ++i) {
            const std::uint64_t* q = query_words + static_cast<std::size_t>(which[i]) * words;
            int distance = 0;
            for (int w = 0; w < words; ++w) distance += __builtin_popcountll(code[w] ^ q[w]);
            Kept& mine = kept[which[i]];
            if (distance <= mine.bound_distance) offer(mine, distance, list.ids[c], k);
        }
    }
}

}  // namespace

void hamming_knn(const std::vector<CodeList>& lists, int code_bytes, const std::uint8_t* queries, int nq, int k,
                 const std::int64_t* list_offsets, const std::int32_t* list_queries, int threads,
                 std::int64_t* labels, std::int32_t* distances) {
    if (code_bytes <= 0 || code_bytes > 8 * kMaxWords) throw std::invalid_argument("code_bytes must be 1..128");
    if (k <= 0) throw std::invalid_argument("k must be positive");
    const int words = (code_bytes + 7) / 8;
    std::vector<std::uint64_t> query_words(static_cast<std::size_t>(nq) * words);
    for (int q = 0; q < nq; ++q) load_words(queries + static_cast<std::size_t>(q) * code_bytes, code_bytes,
                                            query_words.data() + static_cast<std::size_t>(q) * words);
    std::vector<int> everyone(static_cast<std::size_t>(nq));
    for (int q = 0; q < nq; ++q) everyone[q] = q;
    const std::size_t kk = static_cast<std::size_t>(k);
    std::vector<std::vector<std::uint64_t>> merged(static_cast<std::size_t>(nq));
    std::mutex merging;
    std::atomic<std::size_t> next{0};
    run_parallel(std::max(1, threads), [&]() {
        std::vector<Kept> kept(static_cast<std::size_t>(nq));
        std::vector<int> which;
        for (std::size_t l; (l = next.fetch_add(1)) < lists.size();) {
            if (lists[l].size == 0) continue;
            if (list_offsets == nullptr) {
                scan_list(lists[l], code_bytes, query_words.data(), everyone.data(), nq, kk, kept);
            } else {
                which.assign(list_queries + list_offsets[l], list_queries + list_offsets[l + 1]);
                if (!which.empty()) scan_list(lists[l], code_bytes, query_words.data(), which.data(),
                                              static_cast<int>(which.size()), kk, kept);
            }
        }
        std::lock_guard<std::mutex> lock(merging);
        for (int q = 0; q < nq; ++q) merged[q].insert(merged[q].end(), kept[q].keys.begin(), kept[q].keys.end());
    });
    for (int q = 0; q < nq; ++q) {
        std::vector<std::uint64_t>& keys = merged[q];
        const std::size_t n = std::min(kk, keys.size());
        std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n), keys.end());
        for (std::size_t i = 0; i < kk; ++i) {
            labels[q * kk + i] = i < n ? static_cast<std::int64_t>(keys[i] & kIdMask) : -1;
            distances[q * kk + i] = i < n ? static_cast<std::int32_t>(keys[i] >> kIdBits) : INT32_MAX;
        }
    }
}

}  // namespace basma
