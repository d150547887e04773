// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Global Descriptor Table and the Task State Segment.
//!
//! In long mode segmentation is mostly gone, but the CPU still needs
//! (*Intel SDM* Vol. 3A §3.4.5 and §7.7):
//! - 64-bit code segments for the kernel and for user mode, and data
//!   segments for `ss` (and the user's `ds`);
//! - a TSS, whose only jobs in 64-bit mode are the stack pointers: `rsp0`,
//!   loaded on an interrupt from ring 3, and the seven Interrupt Stack
//!   Table pointers, loaded on any interrupt whose IDT gate names one.
//!   Its I/O permission bitmap is empty (the base lies past the limit), so
//!   with `IOPL` 0 every `in`/`out` from ring 3 raises #GP (§19.5.2).
//!
//! `rsp0` changes: [`super::user_mode`] writes it (through
//! [`TASK_STATE`], by symbol, from assembly) each time it enters ring 3,
//! so the next trap from user code lands on the kernel stack of the
//! thread that entered. The TSS therefore lives in a `static` with
//! interior mutability rather than behind a shared reference.
//!
//! The layout is the one `syscall`/`sysret` require (kernel code, kernel
//! data, then user data, user code: *Intel SDM* Vol. 2B, SYSCALL and
//! SYSRET; `STAR` is programmed in [`super::user_mode::init`]):
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
use core::cell::UnsafeCell;
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

/// The selectors as constants, for assembly and for code that runs
/// before [`selectors`] is available. `init` checks they match.
pub const KERNEL_CODE_SELECTOR: u16 = 0x08;
/// Kernel data (ring 0).
pub const KERNEL_DATA_SELECTOR: u16 = 0x10;
/// User data, RPL 3: the user's `ss`.
pub const USER_DATA_SELECTOR: u16 = 0x18 | 3;
/// User code (64-bit), RPL 3: the user's `cs`.
pub const USER_CODE_SELECTOR: u16 = 0x20 | 3;

/// The TSS. The CPU reads it (on interrupts from ring 3 and through IST
/// gates); Rust writes it only in [`init`], before `ltr`, and assembly in
/// [`super::user_mode`] writes `rsp0` with interrupts masked.
#[repr(transparent)]
pub struct TaskState(UnsafeCell<TaskStateSegment>);

// SAFETY: one CPU; every write (see the type's doc) happens with
// interrupts masked, and the CPU reads `rsp0` only when an interrupt
// arrives from ring 3, which cannot happen while ring 0 code writes it.
unsafe impl Sync for TaskState {}

/// The one TSS, named from assembly (`sym`).
pub static TASK_STATE: TaskState = TaskState(UnsafeCell::new(TaskStateSegment::new()));

/// Offset of `rsp0` (`privilege_stack_table[0]`) in the TSS (*Intel SDM*
/// Vol. 3A Figure 9-11: after a reserved doubleword).
pub const RSP0_OFFSET: usize = 4;
const _: () =
    assert!(core::mem::offset_of!(TaskStateSegment, privilege_stack_table) == RSP0_OFFSET);

static GDT: Once<(GlobalDescriptorTable, Selectors)> = Once::new();

/// Builds the TSS and GDT, loads them and reloads every segment register.
/// Called once, first thing in `boot_main`, before the boot page tables
/// (which the boot GDT lives in) are replaced.
pub fn init() {
    let tss = TASK_STATE.0.get();
    // SAFETY: `init` runs once, before `ltr` and with interrupts off, so
    // neither the CPU nor any other code uses the TSS yet; this is the
    // only reference made to it.
    unsafe {
        let tss = &mut *tss;
        for stack in [
            InterruptStack::DoubleFault,
            InterruptStack::Nmi,
            InterruptStack::MachineCheck,
            InterruptStack::Debug,
        ] {
            tss.interrupt_stack_table[usize::from(stack.index())] = VirtAddr::new(stack.top());
        }
        // Until `UserContext::run` first sets it, an interrupt from ring 3
        // (there is none before) would land on the boot stack.
        tss.privilege_stack_table[0] = VirtAddr::new(stacks::boot_stack_top());
    }
    let (gdt, selectors) = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let kernel_code = gdt.append(Descriptor::kernel_code_segment());
        let kernel_data = gdt.append(Descriptor::kernel_data_segment());
        let user_data = gdt.append(Descriptor::user_data_segment());
        let user_code = gdt.append(Descriptor::user_code_segment());
        // SAFETY: the TSS is a `static`, so it outlives the GDT; it is
        // written only as `TaskState`'s doc says, never moved.
        let task_state = gdt.append(unsafe { Descriptor::tss_segment_unchecked(tss) });
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
    // The constants the assembly uses must be what `append` produced.
    if selectors.kernel_code.0 != KERNEL_CODE_SELECTOR
        || selectors.kernel_data.0 != KERNEL_DATA_SELECTOR
        || selectors.user_data.0 != USER_DATA_SELECTOR
        || selectors.user_code.0 != USER_CODE_SELECTOR
    {
        super::boot::fatal("GDT selectors differ from the constants the assembly uses");
    }
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
