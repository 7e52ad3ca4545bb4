// The one pybind11 bindings file: normalises arrays, releases the GIL for whole batches,
// shapes outputs. Kernels live in their own headers/sources.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "layout.hpp"

namespace py = pybind11;

namespace {

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

}  // namespace

PYBIND11_MODULE(basma_native, m) {
    m.doc() = "Basma native kernels (C++17, pybind11).";
    m.attr("ABI_VERSION") = 1;
    m.def("build_info", []() {
        py::dict info;
        info["abi_version"] = 1;
        info["target"] = compiler_flags();
        info["cplusplus"] = static_cast<long>(__cplusplus);
        return info;
    }, "How the extension was compiled (ABI version, native or portable target).");
    m.def("bounding_box", &bounding_box, py::arg("x"), py::arg("y"),
          "Bounding box (x_min, y_min, x_max, y_max) of minutiae coordinates; -1s when empty.");
}
