// Exact scans of inverted lists of binary codes: k nearest by Hamming distance, and each row's
// best Dice similarity per query, for the deep (second) pass of the 1:N candidate index
// (matcher/index/faiss_index.py), where FAISS's IVF search, with its approximate coarse
// assignment, misses the mates' far codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace basma {

// One inverted list: `size` codes of `code_bytes` bytes each, back to back, and their ids
// (each id below 2^40).
struct CodeList {
    const std::uint8_t* codes;
    const std::int64_t* ids;
    std::size_t size;
};

// One exact scan of binary codes over inverted lists, for two uses:
//
// k > 0, k nearest: for every query q (nq codes of code_bytes bytes, back to back), the k codes
// nearest to it among the lists that `list_queries` assigns it (CSR: the queries of list l are
// list_queries[list_offsets[l] .. list_offsets[l + 1]); every query in every list when
// list_offsets is null), ordered by (distance, id), written to labels[q * k ...] and
// distances[q * k ...]; -1 and INT32_MAX fill the places of a query shown fewer than k codes.
//
// rows > 0, row scores: the row of code id i is i >> row_shift (rows at or above `rows` are
// skipped). best(r, q) is the largest similarity floor(255 * (1 - d / (|q| + |c|))) (the Dice
// coefficient of the two codes' bits; 0 for two empty codes) between query q and the codes c of
// row r that q is shown, 0 when none; m(q) is the lower median of best(r, q) over the rows with a
// non-zero best for some query; scores[r] = sum over q of max(0, best(r, q) - m(q)), 0 for a row
// with none. Subtracting m(q) discounts probe codes that resemble every row's codes a little.
//
// Exact: the results are a function of the lists' contents only, whatever `threads`.
void hamming_scan(const std::vector<CodeList>& lists, int code_bytes, const std::uint8_t* queries, int nq, int k,
                  const std::int64_t* list_offsets, const std::int32_t* list_queries, int threads,
                  std::int64_t* labels, std::int32_t* distances, int row_shift, std::int64_t rows,
                  std::int32_t* scores);

}  // namespace basma
