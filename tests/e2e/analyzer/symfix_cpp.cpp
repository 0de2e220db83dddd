// symfix_cpp.cpp — a C++ start routine for the symbolization fixture, so
// the analyzer's demangling is tested on a real mangled symbol
// (_ZN4demo6Worker4tickEPv -> demo::Worker::tick(void*)).
namespace demo {
struct Worker {
    static void *tick(void *arg);
};
__attribute__((noinline)) void *Worker::tick(void *arg)
{
    __asm__ volatile("" ::: "memory");
    return arg;
}
}  // namespace demo

extern "C" void *cpp_tick_addr(void)
{
    return reinterpret_cast<void *>(&demo::Worker::tick);
}
