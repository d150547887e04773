// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Global Descriptor Table and the Task State Segment.
//!
//! In long mode segmentation is mostly gone, but the CPU still needs
//! (*Intel SDM* Vol. 3A §3.4.5 and §7.7):
//! - a 64-bit code segment for the kernel (and later one for user mode),
//!   and data segments for `ss` and the user's `ds`;
//! - a TSS, whose only jobs in 64-bit mode are the stack pointers: `rsp0`,
//!   loaded on an interrupt from ring 3, and the seven Interrupt Stack
//!   Table pointers, loaded on any interrupt whose IDT gate names one.
//!
//! The layout follows what `syscall`/`sysret` will need later (kernel
//! code, kernel data, user data, user code: *Intel SDM* Vol. 2B, SYSRET):
//!
//! | selector | descriptor |
//! |---|---|
//! | 0x08 | kernel code (64-bit) |
//! | 0x10 | kernel data |
//! | 0x1b | user data (RPL 3) |
//! | 0x23 | user code (64-bit, RPL 3) |
//! | 0x28 | TSS (two slots) |
//!
//! The boot code's temporary GDT uses the same kernel selectors, so
//! switching to this one changes nothing for code that is running.

use super::stacks::{self, InterruptStack};
use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, FS, GS, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// The selectors of the loaded GDT.
#[derive(Clone, Copy, Debug)]
pub struct Selectors {
    /// Kernel code (ring 0, 64-bit).
    pub kernel_code: SegmentSelector,
    /// Kernel data (ring 0).
    pub kernel_data: SegmentSelector,
    /// User data (ring 3).
    pub user_data: SegmentSelector,
    /// User code (ring 3, 64-bit).
    pub user_code: SegmentSelector,
    /// The TSS.
    pub task_state: SegmentSelector,
}

static TSS: Once<TaskStateSegment> = Once::new();
static GDT: Once<(GlobalDescriptorTable, Selectors)> = Once::new();

/// Builds the TSS and GDT, loads them and reloads every segment register.
/// Called once, first thing in `boot_main`, before the boot page tables
/// (which the boot GDT lives in) are replaced.
pub fn init() {
    let tss = TSS.call_once(|| {
        let mut tss = TaskStateSegment::new();
        for stack in [
            InterruptStack::DoubleFault,
            InterruptStack::Nmi,
            InterruptStack::MachineCheck,
        ] {
            tss.interrupt_stack_table[usize::from(stack.index())] = VirtAddr::new(stack.top());
        }
        // Until the kernel has threads, an interrupt from ring 3 (there is
        // none yet) would land on the boot stack.
        tss.privilege_stack_table[0] = VirtAddr::new(stacks::boot_stack_top());
        tss
    });
    let (gdt, selectors) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let kernel_code = gdt.append(Descriptor::kernel_code_segment());
        let kernel_data = gdt.append(Descriptor::kernel_data_segment());
        let user_data = gdt.append(Descriptor::user_data_segment());
        let user_code = gdt.append(Descriptor::user_code_segment());
        let task_state = gdt.append(Descriptor::tss_segment(tss));
        (
            gdt,
            Selectors {
                kernel_code,
                kernel_data,
                user_data,
                user_code,
                task_state,
            },
        )
    });
    // `lgdt` first, then reload every segment register: the CPU caches
    // descriptors in them, so the boot GDT stays in use until they are.
    gdt.load();
    // SAFETY: the selectors index descriptors of the GDT just loaded, which
    // lives in a `static` for the kernel's life: a 64-bit ring-0 code
    // segment for `cs`, a ring-0 data segment for the others, an available
    // 64-bit TSS for `ltr`. `ltr` is executed once (it marks the TSS busy).
    unsafe {
        CS::set_reg(selectors.kernel_code);
        SS::set_reg(selectors.kernel_data);
        DS::set_reg(selectors.kernel_data);
        ES::set_reg(selectors.kernel_data);
        FS::set_reg(selectors.kernel_data);
        GS::set_reg(selectors.kernel_data);
        load_tss(selectors.task_state);
    }
}

/// The selectors, once [`init`] has run.
pub fn selectors() -> Option<Selectors> {
    GDT.get().map(|(_, selectors)| *selectors)
}
