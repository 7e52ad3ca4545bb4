// Packed template layout shared by the native kernels.
//
// A template crosses the Python/C++ boundary as contiguous structure-of-arrays buffers
// (matcher/template.py): x, y int16 pixels; angle float32 radians in [0, 2*pi);
// kind, quality uint8. Kernels only read them; nothing is allocated per comparison.
#pragma once

#include <cstddef>
#include <cstdint>

namespace basma {

struct MinutiaeView {
    const std::int16_t* x;
    const std::int16_t* y;
    const float* angle;
    const std::uint8_t* kind;
    const std::uint8_t* quality;
    std::size_t count;
};

}  // namespace basma
