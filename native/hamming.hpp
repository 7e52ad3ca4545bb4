// Exact k-nearest-neighbour search by Hamming distance over inverted lists of binary codes: the
// deep (second) pass of the 1:N candidate index (matcher/index/faiss_index.py), where FAISS's
// IVF search, with its approximate coarse assignment, misses the mates' far codes.
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

// For every query q (nq codes of code_bytes bytes, back to back), the k codes nearest to it among
// the lists that `list_queries` assigns it (CSR: the queries of list l are
// list_queries[list_offsets[l] .. list_offsets[l + 1]); every query in every list when
// list_offsets is null), ordered by (distance, id), written to labels[q * k ...] and
// distances[q * k ...]; -1 and INT32_MAX fill the places of a query shown fewer than k codes.
// Exact: the result is a function of the lists' contents only, whatever `threads`.
void hamming_knn(const std::vector<CodeList>& lists, int code_bytes, const std::uint8_t* queries, int nq, int k,
                 const std::int64_t* list_offsets, const std::int32_t* list_queries, int threads,
                 std::int64_t* labels, std::int32_t* distances);

}  // namespace basma
