// The fixed input `vigil bench` fills float inputs with (src/cmd_bench.c,
// fill_input), for the peers timed beside it: a xorshift32 sequence from
// 2463534242, each value (s % 2001) / 1000 - 1 in float32.
export function benchInput(n) {
  const f = new Float32Array(n);
  let s = 2463534242;
  for (let i = 0; i < n; i++) {
    s = (s ^ (s << 13)) >>> 0;
    s = (s ^ (s >>> 17)) >>> 0;
    s = (s ^ (s << 5)) >>> 0;
    f[i] = Math.fround(Math.fround(s % 2001) / 1000) - 1;
  }
  return f;
}
