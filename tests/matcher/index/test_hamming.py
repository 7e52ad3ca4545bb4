"""The second pass's exact scan (native/hamming.cpp): k nearest codes and row scores against their
numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.index.hamming import CodeLists, knn_reference, row_scores_reference


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


@pytest.mark.parametrize("code_bytes", [1, 5, 8, 39, 64, 70])
def test_native_row_scores_equal_the_reference(code_bytes: int) -> None:
    rng = np.random.default_rng(100 + code_bytes)
    lists = _lists(rng, code_bytes, 9)
    lists = [(codes, (ids % 50) << 8 | ids % 7) for codes, ids in lists]   # rows 0..49, several codes each
    queries = np.packbits(rng.random((19, code_bytes * 8)) < 0.3, axis=1)
    queries[3] = 0                                                          # an empty probe code
    searched = CodeLists.of_arrays(lists, code_bytes)
    assignment = rng.integers(-1, len(lists), (len(queries), 3))
    for rows in (50, 30):          # 30: the codes of rows 30..49 are left out
        for chosen in (None, assignment):
            expected = row_scores_reference(lists, queries, rows, 8, chosen)
            assert expected.any()
            for threads in (1, 2):
                for k in (0, 5):   # with or without the k nearest, from the same scan
                    labels, _, scores = searched.scan(queries, k, chosen, rows=rows, row_shift=8, threads=threads)
                    np.testing.assert_array_equal(scores, expected)
                    assert labels.shape == (len(queries), k)
    assert not searched.scan(queries, 3)[2].size   # rows=0: no row scores


def test_row_scores_count_what_each_probe_code_finds_above_the_median() -> None:
    # One 8-bit code per row against the probe code 0xF0, Dice 2|q & c| / (|q| + |c|) x 255:
    # row 1 equal (255), row 2 0xC0 (170), rows 0 and 3 disjoint (0: not counted in the median).
    query = np.array([[0xF0]], np.uint8)
    codes = np.array([[0x0F], [0xF0], [0xC0], [0x03]], np.uint8)
    scan = CodeLists.of_arrays([(codes, np.arange(4) << 8)], 1).scan(query, 0, rows=5, row_shift=8)
    assert scan[2].tolist() == [0, 85, 0, 0, 0]        # lower median of (255, 170): 170; row 4 holds no code
    # Rows 4 and 5 hold 0x80 (102): the lower median of (102, 102, 170, 255) is 102.
    codes = np.concatenate([codes, [[0x80], [0x80]]]).astype(np.uint8)
    scan = CodeLists.of_arrays([(codes, np.arange(6) << 8)], 1).scan(query, 0, rows=6, row_shift=8)
    assert scan[2].tolist() == [0, 153, 68, 0, 0, 0]
    assert scan[2].tolist() == row_scores_reference([(codes, np.arange(6) << 8)], query, 6, 8).tolist()


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
    with pytest.raises(ValueError, match="k must be >= 0"):
        searched.scan(codes, -1)
    with pytest.raises(ValueError, match="rows must be >= 0"):
        searched.scan(codes, 1, rows=-1)
    with pytest.raises(ValueError, match="array of codes"):
        searched.search(np.zeros((1, 5), np.uint8), 1)
