// The one pybind11 bindings file: normalises arrays, releases the GIL for whole batches,
// shapes outputs. Kernels live in their own headers/sources.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hamming.hpp"
#include "mcc.hpp"
#include "pool.hpp"

namespace py = pybind11;

namespace {

// `threads`, or every hardware thread when it is 0 or less (the bindings' `threads=0` default).
int threads_or_all(int threads) {
    return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

template <typename T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

std::string compiler_flags() {
#if BASMA_PORTABLE
    return "portable";
#else
    return "native";
#endif
}

// Bounding box (x_min, y_min, x_max, y_max) of a minutiae set, or all -1 for an empty set.
// Small, but a real kernel: it exercises the array contract every scoring kernel uses
// (contiguous int16 SoA in, GIL released while reading).
py::tuple bounding_box(const CArray<std::int16_t>& x, const CArray<std::int16_t>& y) {
    if (x.ndim() != 1 || y.ndim() != 1 || x.shape(0) != y.shape(0)) {
        throw py::value_error("x and y must be 1-D arrays of equal length");
    }
    const auto n = static_cast<std::size_t>(x.shape(0));
    const std::int16_t* px = x.data();
    const std::int16_t* py_ = y.data();
    int x0 = -1, y0 = -1, x1 = -1, y1 = -1;
    {
        py::gil_scoped_release release;
        if (n > 0) {
            x0 = x1 = px[0];
            y0 = y1 = py_[0];
            for (std::size_t i = 1; i < n; ++i) {
                x0 = std::min<int>(x0, px[i]);
                x1 = std::max<int>(x1, px[i]);
                y0 = std::min<int>(y0, py_[i]);
                y1 = std::max<int>(y1, py_[i]);
            }
        }
    }
    return py::make_tuple(x0, y0, x1, y1);
}

// ---- Minutia Cylinder-Code (mcc.hpp) ----

// Immutable model shared by every template prepared with one parameter set.
struct Model {
    std::shared_ptr<const basma::MccModel> model;
};

template <typename T>
void set_field(py::dict& values, const char* name, T& field) {
    if (values.contains(name)) {
        field = values[name].cast<T>();
        PyDict_DelItemString(values.ptr(), name);
    }
}

Model make_model(const py::dict& given) {
    py::dict values(given);   // a copy: known names are removed as they are read
    basma::MccParams p;
    set_field(values, "radius_px", p.radius_px);
    set_field(values, "spatial_cells", p.spatial_cells);
    set_field(values, "angular_cells", p.angular_cells);
    set_field(values, "sigma_spatial_px", p.sigma_spatial_px);
    set_field(values, "sigma_direction_rad", p.sigma_direction_rad);
    set_field(values, "bit_threshold", p.bit_threshold);
    set_field(values, "bit_top_cells", p.top_cells);
    set_field(values, "hull_offset_px", p.hull_offset_px);
    set_field(values, "min_valid_cells", p.min_valid_cells);
    set_field(values, "min_contributors", p.min_contributors);
    set_field(values, "min_matchable_cells", p.min_matchable_cells);
    set_field(values, "max_direction_diff_rad", p.max_direction_diff_rad);
    set_field(values, "min_pairs", p.min_pairs);
    set_field(values, "max_pairs", p.max_pairs);
    set_field(values, "pairs_mu", p.pairs_mu);
    set_field(values, "pairs_tau", p.pairs_tau);
    set_field(values, "max_seeds", p.max_seeds);
    set_field(values, "relaxation_iterations", p.relaxation_iterations);
    set_field(values, "relaxation_weight", p.relaxation_weight);
    set_field(values, "distance_mu_px", p.distance_mu_px);
    set_field(values, "distance_tau", p.distance_tau);
    set_field(values, "direction_mu_rad", p.direction_mu_rad);
    set_field(values, "direction_tau", p.direction_tau);
    set_field(values, "radial_mu_rad", p.radial_mu_rad);
    set_field(values, "radial_tau", p.radial_tau);
    if (py::len(values) != 0) {
        throw py::value_error("unknown matching parameters: " + py::str(values.attr("keys")()).cast<std::string>());
    }
    try {
        return Model{std::make_shared<const basma::MccModel>(p)};
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
}

using PreparedPtr = std::shared_ptr<basma::Prepared>;

PreparedPtr prepare(const Model& model, const CArray<double>& x, const CArray<double>& y,
                    const CArray<float>& angle) {
    if (x.ndim() != 1 || y.ndim() != 1 || angle.ndim() != 1 || x.shape(0) != y.shape(0) ||
        x.shape(0) != angle.shape(0)) {
        throw py::value_error("x, y and angle must be 1-D arrays of equal length");
    }
    const int n = static_cast<int>(x.shape(0));
    if (n > 255) throw py::value_error("at most 255 minutiae per template");
    auto out = std::make_shared<basma::Prepared>();
    {
        py::gil_scoped_release release;
        *out = basma::prepare(model.model, x.data(), y.data(), angle.data(), n);
    }
    return out;
}

basma::Scratch& thread_scratch() {
    thread_local basma::Scratch scratch;
    return scratch;
}

double score_pair(const basma::Prepared& a, const basma::Prepared& b) {
    py::gil_scoped_release release;
    return basma::score(a, b, thread_scratch());
}

py::array_t<float> score_many(const basma::Prepared& probe, const py::sequence& candidates, int threads) {
    std::vector<const basma::Prepared*> items;
    items.reserve(py::len(candidates));
    for (const py::handle& h : candidates) items.push_back(&h.cast<const basma::Prepared&>());
    for (const basma::Prepared* c : items) {
        if (!(c->model->params == probe.model->params)) {
            throw py::value_error("templates prepared with different matching parameters");
        }
    }
    const std::size_t n = items.size();
    py::array_t<float> out(static_cast<py::ssize_t>(n));
    float* result = out.mutable_data();
    threads = threads_or_all(threads);
    // Chunks small enough that every thread gets several (the last ones balance the load), at
    // most 16 candidates (one atomic increment per chunk is negligible then).
    threads = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(threads, n)));
    const std::size_t chunk = std::max<std::size_t>(1, std::min<std::size_t>(16, n / (32 * static_cast<std::size_t>(threads))));
    {
        py::gil_scoped_release release;
        std::atomic<std::size_t> next{0};
        auto work = [&]() {
            basma::Scratch& scratch = thread_scratch();
            for (std::size_t start; (start = next.fetch_add(chunk)) < n;) {
                const std::size_t stop = std::min(n, start + chunk);
                for (std::size_t i = start; i < stop; ++i) {
                    if (i + 1 < stop) basma::prefetch(*items[i + 1]);     // the next candidate, while this one is scored
                    result[i] = static_cast<float>(basma::score(probe, *items[i], scratch));
                }
            }
        };
        basma::run_parallel(threads, work);
    }
    return out;
}

// ---- batches of unprepared templates ---------------------------------------------------------
// The minutiae of template i are entries [offsets[i], offsets[i + 1]) of x, y and angle (the
// layout of a structure-of-arrays template store). Each template is prepared inside a worker
// thread and dropped after use, so a 1:N re-scoring of gallery templates holds no search form.
struct Batch {
    const double* x;
    const double* y;
    const float* angle;
    std::vector<std::int64_t> offsets;
    std::size_t count() const { return offsets.size() - 1; }
};

Batch check_batch(const CArray<double>& x, const CArray<double>& y, const CArray<float>& angle,
                  const CArray<std::int64_t>& offsets) {
    if (x.ndim() != 1 || y.ndim() != 1 || angle.ndim() != 1 || x.shape(0) != y.shape(0) ||
        x.shape(0) != angle.shape(0)) {
        throw py::value_error("x, y and angle must be 1-D arrays of equal length");
    }
    if (offsets.ndim() != 1 || offsets.shape(0) < 1) throw py::value_error("offsets must be a non-empty 1-D array");
    Batch batch{x.data(), y.data(), angle.data(),
                std::vector<std::int64_t>(offsets.data(), offsets.data() + offsets.shape(0))};
    if (batch.offsets.front() != 0 || batch.offsets.back() != x.shape(0)) {
        throw py::value_error("offsets must start at 0 and end at the number of minutiae");
    }
    for (std::size_t i = 0; i < batch.count(); ++i) {
        const std::int64_t n = batch.offsets[i + 1] - batch.offsets[i];
        if (n < 0 || n > 255) throw py::value_error("offsets must be non-decreasing, at most 255 minutiae per template");
    }
    return batch;
}

basma::Prepared prepare_item(const Model& model, const Batch& batch, std::size_t i) {
    const std::int64_t start = batch.offsets[i];
    return basma::prepare(model.model, batch.x + start, batch.y + start, batch.angle + start,
                          static_cast<int>(batch.offsets[i + 1] - start));
}

// Calls work(i, scratch) for i in [0, n) on `threads` pool threads (GIL released by the caller).
template <typename Work>
void parallel_for(std::size_t n, int threads, std::size_t max_chunk, const Work& work) {
    if (n == 0) return;
    threads = threads_or_all(threads);
    threads = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(threads, n)));
    const std::size_t chunk = std::max<std::size_t>(
        1, std::min<std::size_t>(max_chunk, n / (32 * static_cast<std::size_t>(threads))));
    std::atomic<std::size_t> next{0};
    basma::run_parallel(threads, [&]() {
        basma::Scratch& scratch = thread_scratch();
        for (std::size_t start; (start = next.fetch_add(chunk)) < n;) {
            const std::size_t stop = std::min(n, start + chunk);
            for (std::size_t i = start; i < stop; ++i) work(i, scratch);
        }
    });
}

py::array_t<float> score_batch(const basma::Prepared& probe, const Model& model, const CArray<double>& x,
                               const CArray<double>& y, const CArray<float>& angle,
                               const CArray<std::int64_t>& offsets, int threads) {
    if (!(model.model->params == probe.model->params)) {
        throw py::value_error("the probe was prepared with different matching parameters");
    }
    const Batch batch = check_batch(x, y, angle, offsets);
    py::array_t<float> out(static_cast<py::ssize_t>(batch.count()));
    float* result = out.mutable_data();
    {
        py::gil_scoped_release release;
        parallel_for(batch.count(), threads, 4, [&](std::size_t i, basma::Scratch& scratch) {
            result[i] = static_cast<float>(basma::score(probe, prepare_item(model, batch, i), scratch));
        });
    }
    return out;
}

// Scores of several prepared probes against unprepared templates, each template prepared once:
// the gallery-major pass of an exhaustive 1:N evaluation. Row p of the result is probe p.
py::array_t<float> score_matrix(const py::sequence& probes, const Model& model, const CArray<double>& x,
                                const CArray<double>& y, const CArray<float>& angle,
                                const CArray<std::int64_t>& offsets, int threads) {
    std::vector<const basma::Prepared*> items;
    for (const py::handle& h : probes) items.push_back(&h.cast<const basma::Prepared&>());
    for (const basma::Prepared* p : items) {
        if (!(p->model->params == model.model->params)) {
            throw py::value_error("a probe was prepared with different matching parameters");
        }
    }
    const Batch batch = check_batch(x, y, angle, offsets);
    const std::size_t n = batch.count();
    py::array_t<float> out({static_cast<py::ssize_t>(items.size()), static_cast<py::ssize_t>(n)});
    float* result = out.mutable_data();
    {
        py::gil_scoped_release release;
        parallel_for(n, threads, 16, [&](std::size_t i, basma::Scratch& scratch) {
            const basma::Prepared candidate = prepare_item(model, batch, i);
            for (std::size_t p = 0; p < items.size(); ++p) {
                result[p * n + i] = static_cast<float>(basma::score(*items[p], candidate, scratch));
            }
        });
    }
    return out;
}

py::tuple cylinders_batch(const Model& model, const CArray<double>& x, const CArray<double>& y,
                          const CArray<float>& angle, const CArray<std::int64_t>& offsets, int threads) {
    const Batch batch = check_batch(x, y, angle, offsets);
    const int words = model.model->words;
    const py::ssize_t total = x.shape(0);
    py::array_t<std::uint64_t> values({total, static_cast<py::ssize_t>(words)});
    py::array_t<bool> usable(total);
    std::uint64_t* v = values.mutable_data();
    bool* u = usable.mutable_data();
    {
        py::gil_scoped_release release;
        parallel_for(batch.count(), threads, 16, [&](std::size_t i, basma::Scratch&) {
            const basma::Prepared t = prepare_item(model, batch, i);
            const std::int64_t start = batch.offsets[i];
            for (int m = 0; m < t.n; ++m) {
                std::copy(t.values(m), t.values(m) + words, v + (start + m) * words);
                u[start + m] = t.usable[m] != 0;
            }
        });
    }
    return py::make_tuple(values, usable);
}

py::tuple cylinders(const basma::Prepared& t) {
    const int words = t.model->words;
    py::array_t<std::uint64_t> values({t.n, words}), valid({t.n, words});
    py::array_t<bool> usable(t.n);
    for (int i = 0; i < t.n; ++i) {
        std::copy(t.values(i), t.values(i) + words, values.mutable_data(i, 0));
        std::copy(t.valid(i), t.valid(i) + words, valid.mutable_data(i, 0));
        usable.mutable_data()[i] = t.usable[i] != 0;
    }
    return py::make_tuple(values, valid, usable);
}

py::array_t<double> local_similarities(const basma::Prepared& a, const basma::Prepared& b) {
    if (!(a.model->params == b.model->params)) throw py::value_error("templates prepared with different parameters");
    py::array_t<double> out({a.n, b.n});
    double* data = out.mutable_data();
    {
        py::gil_scoped_release release;
        basma::local_similarities(a, b, data);
    }
    return out;
}

// One exact scan of inverted lists given by address (hamming.hpp): list l holds sizes[l]
// codes at code_addresses[l] and their ids at id_addresses[l]. The caller keeps that memory
// alive and unchanged for the call (matcher.index.faiss_index reads the addresses from its FAISS
// index under the gallery's lock). list_offsets / list_queries: which queries scan which list
// (CSR over the lists; None: every query every list).
py::tuple hamming_scan(const CArray<std::int64_t>& code_addresses, const CArray<std::int64_t>& id_addresses,
                       const CArray<std::int64_t>& sizes, int code_bytes, const CArray<std::uint8_t>& queries, int k,
                       const std::optional<CArray<std::int64_t>>& list_offsets,
                       const std::optional<CArray<std::int32_t>>& list_queries, int threads, int row_shift,
                       std::int64_t rows) {
    const py::ssize_t count = code_addresses.shape(0);
    if (code_addresses.ndim() != 1 || id_addresses.ndim() != 1 || sizes.ndim() != 1 ||
        id_addresses.shape(0) != count || sizes.shape(0) != count) {
        throw py::value_error("code_addresses, id_addresses and sizes must be 1-D arrays of one length");
    }
    if (queries.ndim() != 2 || queries.shape(1) != code_bytes) {
        throw py::value_error("queries must be a (n, code_bytes) uint8 array");
    }
    if (k < 0) throw py::value_error("k must be >= 0");
    if (rows < 0 || row_shift < 0 || row_shift > 62) throw py::value_error("rows must be >= 0, row_shift in 0..62");
    if (list_offsets.has_value() != list_queries.has_value()) {
        throw py::value_error("list_offsets and list_queries go together");
    }
    const int nq = static_cast<int>(queries.shape(0));
    if (list_offsets) {
        const std::int64_t* o = list_offsets->data();
        if (list_offsets->ndim() != 1 || list_offsets->shape(0) != count + 1 || o[0] != 0 ||
            o[count] != list_queries->shape(0)) {
            throw py::value_error("list_offsets must hold len(sizes) + 1 offsets into list_queries");
        }
        for (py::ssize_t l = 0; l < count; ++l) {
            if (o[l + 1] < o[l]) throw py::value_error("list_offsets must not decrease");
        }
        const std::int32_t* q = list_queries->data();
        for (py::ssize_t i = 0; i < list_queries->shape(0); ++i) {
            if (q[i] < 0 || q[i] >= nq) throw py::value_error("list_queries names a query that does not exist");
        }
    }
    std::vector<basma::CodeList> lists(static_cast<std::size_t>(count));
    for (py::ssize_t l = 0; l < count; ++l) {
        if (sizes.data()[l] < 0) throw py::value_error("list sizes must be >= 0");
        lists[l] = {reinterpret_cast<const std::uint8_t*>(code_addresses.data()[l]),
                    reinterpret_cast<const std::int64_t*>(id_addresses.data()[l]),
                    static_cast<std::size_t>(sizes.data()[l])};
    }
    threads = threads_or_all(threads);
    py::array_t<std::int64_t> labels({static_cast<py::ssize_t>(nq), static_cast<py::ssize_t>(k)});
    py::array_t<std::int32_t> distances({static_cast<py::ssize_t>(nq), static_cast<py::ssize_t>(k)});
    py::array_t<std::int32_t> scores(static_cast<py::ssize_t>(rows));
    {
        py::gil_scoped_release release;
        basma::hamming_scan(lists, code_bytes, queries.data(), nq, k, list_offsets ? list_offsets->data() : nullptr,
                            list_queries ? list_queries->data() : nullptr, threads, labels.mutable_data(),
                            distances.mutable_data(), row_shift, rows, scores.mutable_data());
    }
    return py::make_tuple(labels, distances, scores);
}

}  // namespace

PYBIND11_MODULE(basma_native, m) {
    m.doc() = "Basma native kernels (C++17, pybind11).";
    m.attr("ABI_VERSION") = 5;
    m.def("build_info", []() {
        py::dict info;
        info["abi_version"] = 5;
        info["target"] = compiler_flags();
        info["simd"] = basma::simd_name();
        info["cplusplus"] = static_cast<long>(__cplusplus);
        return info;
    }, "How the extension was compiled (ABI version, native or portable target).");
    m.def("bounding_box", &bounding_box, py::arg("x"), py::arg("y"),
          "Bounding box (x_min, y_min, x_max, y_max) of minutiae coordinates; -1s when empty.");

    py::class_<Model>(m, "MccModel", "Derived constants of one MatchingParams set.")
        .def(py::init(&make_model), py::arg("params"))
        .def_property_readonly("words", [](const Model& mm) { return mm.model->words; })
        .def_property_readonly("circle_cells", [](const Model& mm) { return mm.model->circle_cells; });
    py::class_<basma::Prepared, PreparedPtr>(m, "Prepared", "Search form of one template (bit cylinders).")
        .def_property_readonly("size", [](const basma::Prepared& t) { return t.n; })
        .def_property_readonly("usable", [](const basma::Prepared& t) { return t.usable_count; })
        .def("nbytes", &basma::Prepared::nbytes);
    m.def("prepare", &prepare, py::arg("model"), py::arg("x"), py::arg("y"), py::arg("angle"),
          "Build the search form of a template (x, y: image-frame pixels at 500 dpi; angle: radians).");
    m.def("score", &score_pair, py::arg("a"), py::arg("b"), "Similarity of two prepared templates in [0, 1].");
    m.def("score_many", &score_many, py::arg("probe"), py::arg("candidates"), py::arg("threads") = 0,
          "Scores of one prepared probe against prepared candidates (GIL released; threads 0 = all cores).");
    m.def("score_batch", &score_batch, py::arg("probe"), py::arg("model"), py::arg("x"), py::arg("y"),
          py::arg("angle"), py::arg("offsets"), py::arg("threads") = 0,
          "Scores of a prepared probe against unprepared templates (minutiae of template i at "
          "offsets[i]:offsets[i+1]), each prepared in a worker thread and dropped (GIL released).");
    m.def("score_matrix", &score_matrix, py::arg("probes"), py::arg("model"), py::arg("x"), py::arg("y"),
          py::arg("angle"), py::arg("offsets"), py::arg("threads") = 0,
          "(probes, templates) scores, each unprepared template prepared once (GIL released).");
    m.def("cylinders_batch", &cylinders_batch, py::arg("model"), py::arg("x"), py::arg("y"), py::arg("angle"),
          py::arg("offsets"), py::arg("threads") = 0,
          "(values (minutiae, words) uint64, usable (minutiae,) bool) bit cylinders of many templates.");
    m.def("cylinders", &cylinders, py::arg("prepared"), "(values, valid, usable) bit cylinders, for tests.");
    m.def("hamming_scan", &hamming_scan, py::arg("code_addresses"), py::arg("id_addresses"), py::arg("sizes"),
          py::arg("code_bytes"), py::arg("queries"), py::arg("k"), py::arg("list_offsets") = py::none(),
          py::arg("list_queries") = py::none(), py::arg("threads") = 0, py::arg("row_shift") = 0,
          py::arg("rows") = 0,
          "(labels (n, k) int64, distances (n, k) int32, row scores (rows,) int32): one exact scan of inverted "
          "lists, the k nearest codes of each query by (distance, id) and each row's score (hamming.hpp).");
    m.def("local_similarities", &local_similarities, py::arg("a"), py::arg("b"),
          "The local similarity matrix Gamma, for tests.");
}
