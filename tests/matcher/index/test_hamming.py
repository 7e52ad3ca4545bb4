"""The second pass's exact Hamming k-NN (native/hamming.cpp) against its numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.index.hamming import CodeLists, knn_reference


def _lists(rng: np.random.Generator, code_bytes: int, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Lists of sparse and dense codes (many equal distances), some empty, ids unique."""
    lists = []
    ids = rng.choice(1 << 39, 60 * count, replace=False)
    for i in range(count):
        n = int(rng.integers(0, 60))
        density = rng.uniform(0.02, 0.6)
        codes = np.packbits(rng.random((n, code_bytes * 8)) < density, axis=1)
        lists.append((codes, ids[60 * i:60 * i + n]))
    return lists


@pytest.mark.parametrize("code_bytes", [1, 5, 8, 17, 39, 64, 70])
def test_native_search_equals_the_reference(code_bytes: int) -> None:
    rng = np.random.default_rng(code_bytes)
    lists = _lists(rng, code_bytes, 11)
    queries = np.packbits(rng.random((21, code_bytes * 8)) < 0.3, axis=1)
    searched = CodeLists.of_arrays(lists, code_bytes)
    for k in (1, 7, 50, 2000):      # 2000: more than every list holds, the rest -1
        expected = knn_reference(lists, queries, k)
        for threads in (1, 2):
            labels, distances = searched.search(queries, k, threads=threads)
            np.testing.assert_array_equal(labels, expected[0])
            np.testing.assert_array_equal(distances, expected[1])
        assignment = rng.integers(-1, len(lists), (len(queries), 3))   # repeats and -1 included
        labels, distances = searched.search(queries, k, assignment, threads=2)
        expected = knn_reference(lists, queries, k, assignment)
        np.testing.assert_array_equal(labels, expected[0])
        np.testing.assert_array_equal(distances, expected[1])
    assert (searched.search(queries, 2000)[0] == -1).any()


def test_ties_go_to_the_smaller_id() -> None:
    code = np.zeros((1, 4), np.uint8)
    lists = [(np.repeat(code, 3, axis=0), np.array([30, 10, 20])), (code, np.array([5]))]
    labels, distances = CodeLists.of_arrays(lists, 4).search(code, 3)
    assert labels.tolist() == [[5, 10, 20]] and distances.tolist() == [[0, 0, 0]]


def test_bad_input_is_refused() -> None:
    codes, ids = np.zeros((2, 4), np.uint8), np.array([1, 2])
    with pytest.raises(ValueError, match="ids"):
        CodeLists.of_arrays([(codes, ids[:1])], 4)
    with pytest.raises(ValueError, match="2\\^40"):
        CodeLists.of_arrays([(codes, np.array([1, 1 << 40]))], 4)
    searched = CodeLists.of_arrays([(codes, ids)], 4)
    with pytest.raises(ValueError, match="list 1"):
        searched.search(codes, 1, np.array([[1], [0]]))
    with pytest.raises(ValueError, match="k must be positive"):
        searched.search(codes, 0)
    with pytest.raises(ValueError, match="array of codes"):
        searched.search(np.zeros((1, 5), np.uint8), 1)
