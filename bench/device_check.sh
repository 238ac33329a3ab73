#!/usr/bin/env bash
# Prepare: strip and xz the dev-profile `aegis-model` and `xtask` binaries into .devbin/, download
# the Vulkan loaders into .gl/ (see the device tool README), carry both, run `bash bench/device_check.sh`.
# Device check: wgpu on the GPU against flex (same seed => same init and dropout masks),
# throughput side by side, PyTorch on the same 2 cores and on CUDA.
set -x
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
B=/tmp/bin; mkdir -p $B
for f in aegis-model xtask; do xz -dc .devbin/$f.xz > $B/$f; chmod +x $B/$f; done
nvidia-smi -L; nproc
$B/aegis-model devices
LOG=$OUT/log.txt
{
echo "== wgpu train 3 epochs seed 1"; time $B/aegis-model --device wgpu train --epochs 3 --seed 1 --out /tmp/wgpu
echo "== flex train 3 epochs seed 1"; time $B/aegis-model --device flex train --epochs 3 --seed 1 --out /tmp/flex
} 2>&1 | tee -a $LOG
cp /tmp/wgpu/metrics.json $OUT/wgpu_metrics.json; cp /tmp/flex/metrics.json $OUT/flex_metrics.json
timeout 150 $B/xtask bench --devices flex,wgpu --out /tmp/b16 2>&1 | tee -a $LOG
cp /tmp/b16/report.json $OUT/bench16.json
taskset -c 0,1 timeout 60 $B/xtask bench --devices flex --out /tmp/b2 2>&1 | tee -a $LOG
cp /tmp/b2/report.json $OUT/bench2.json
taskset -c 0,1 timeout 60 python3 bench/pytorch/smallcnn_bench.py --threads 2 --out $OUT/torch2.json 2>&1 | tail -3 | tee -a $LOG
timeout 60 python3 bench/pytorch/smallcnn_bench.py --device cuda --threads 16 --out $OUT/torch_cuda.json 2>&1 | tail -3 | tee -a $LOG
