# erg devices over a fake accel tree (ERG_SYSFS_ROOT; /dev under it): an
# Intel NPU on PCI, which the fakevpu test plugin claims by its bus path, and
# a Rockchip NPU on the platform bus, which no plugin claims.
file(REMOVE_RECURSE ${TREE})
set(pci ${TREE}/sys/devices/pci0000:00/0000:00:0b.0)
set(plat ${TREE}/sys/devices/platform/fdab0000.npu)
file(MAKE_DIRECTORY ${pci}/accel/accel0 ${plat} ${TREE}/sys/bus/pci/drivers/intel_vpu
     ${TREE}/sys/bus/platform/drivers/rocket ${TREE}/sys/class/accel/accel1 ${TREE}/dev/accel)
file(WRITE ${pci}/vendor "0x8086\n")
file(WRITE ${pci}/device "0x7d1d\n")
file(CREATE_LINK ../../../bus/pci/drivers/intel_vpu ${pci}/driver SYMBOLIC)
file(CREATE_LINK ../../../bus/pci ${pci}/subsystem SYMBOLIC)
file(CREATE_LINK ../../../0000:00:0b.0 ${pci}/accel/accel0/device SYMBOLIC)
file(CREATE_LINK ../../devices/pci0000:00/0000:00:0b.0/accel/accel0
     ${TREE}/sys/class/accel/accel0 SYMBOLIC)
file(CREATE_LINK ../../../bus/platform/drivers/rocket ${plat}/driver SYMBOLIC)
file(CREATE_LINK ../../../devices/platform/fdab0000.npu ${TREE}/sys/class/accel/accel1/device
     SYMBOLIC)
file(TOUCH ${TREE}/dev/accel/accel0 ${TREE}/dev/accel/accel1)

set(ENV{ERG_SYSFS_ROOT} ${TREE})
set(ENV{ERG_PLUGIN_PATH} ${CLAIM_DIR})
execute_process(COMMAND ${ERG} devices RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "erg devices failed")
endif()
foreach(want
    "accelerator pci-0000:00:0b.0\n  driver      intel_vpu (accel)\n  node        ${TREE}/dev/accel/accel0\n  pci ids     8086:7d1d\n  erg         plugin fakevpu, device fakevpu:0\n"
    "accelerator platform-fdab0000.npu\n  driver      rocket (accel)\n  node        ${TREE}/dev/accel/accel1\n  erg         no erg plugin loaded\n"
    "accelerators: DRM: libdrm not asked")
  string(FIND "${out}" "${want}" at)
  if(at LESS 0)
    message(FATAL_ERROR "erg devices does not print:\n${want}")
  endif()
endforeach()

execute_process(COMMAND ${ERG} devices --json RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "erg devices --json failed")
endif()
string(JSON n LENGTH "${out}" accelerators)
string(JSON bus0 GET "${out}" accelerators 0 bus_path)
string(JSON plugin0 GET "${out}" accelerators 0 plugin)
string(JSON vendor0 GET "${out}" accelerators 0 vendor_id)
string(JSON bus1 GET "${out}" accelerators 1 bus_path)
string(JSON plugin1 TYPE "${out}" accelerators 1 plugin)
string(JSON dev0 GET "${out}" devices 0 name)
if(NOT n EQUAL 2 OR NOT bus0 STREQUAL "pci-0000:00:0b.0" OR NOT plugin0 STREQUAL "fakevpu"
   OR NOT vendor0 EQUAL 32902 OR NOT bus1 STREQUAL "platform-fdab0000.npu"
   OR NOT plugin1 STREQUAL "NULL" OR NOT dev0 STREQUAL "cpu")
  message(FATAL_ERROR "erg devices --json: ${n} accelerators, ${bus0} by ${plugin0} "
                      "(vendor ${vendor0}), ${bus1} by ${plugin1}; first device ${dev0}")
endif()
file(REMOVE_RECURSE ${TREE})
