/*
 * npu-sim's performance model. Time of an op = DMA latency + the larger of
 * compute (MACs / (MAC units x clock), with activation rows padded to the
 * prefill chunk) and memory (weights from SRAM when all the device's weights
 * fit there, else from DRAM; int8 activations through SRAM). Energy =
 * active power x busy time + idle power x the rest of the time the device
 * is open, less the host time spent simulating its calls (that time stands
 * for the modelled busy time). Nothing here is measured.
 */
#include "sim.h"

double sim_matmul_seconds(const sim_profile *p, const erg_plugin_device *dev, int64_t k,
                          int64_t n, int64_t m) {
    int64_t chunk = p->prefill_chunk > 0 ? p->prefill_chunk : 1;
    int64_t m_pad = (m + chunk - 1) / chunk * chunk;
    double compute = (double)k * (double)n * (double)m_pad / (p->mac_units * p->clock_hz);
    double weight_bytes = (double)k * (double)n * p->weight_bits / 8.0;
    double weight_bw = dev->weight_bytes <= p->sram_bytes ? p->sram_bw : p->dram_bw;
    double memory = weight_bytes / weight_bw + (double)(k + n) * (double)m_pad / p->sram_bw;
    return p->dma_latency_s + (compute > memory ? compute : memory);
}

double sim_elementwise_seconds(const sim_profile *p, int64_t elements, uint32_t n_operands) {
    return p->dma_latency_s + (double)elements * 4.0 * n_operands / p->sram_bw;
}

double sim_transfer_seconds(const sim_profile *p, size_t bytes) {
    return p->dma_latency_s + (double)bytes / p->dram_bw;
}

void sim_account(erg_plugin_device *dev, double seconds) {
    dev->busy_s += seconds;
    dev->active_j += seconds * dev->prof.active_w;
}

void sim_in_call(erg_plugin_device *dev, double t0) {
    dev->in_calls_s += sim_host->now_seconds(sim_host->user) - t0;
}
