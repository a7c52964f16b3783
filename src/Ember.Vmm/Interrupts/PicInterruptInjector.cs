using Ember.Devices.Interrupts;
using Ember.Kvm;
using Ember.Sys;

namespace Ember.Vmm.Interrupts;

/// <summary>
/// Carries the user-space 8259A pair's INT output to vCPU 0 with KVM_INTERRUPT (api.rst 4.16): with no
/// in-kernel irqchip the vector goes straight to the vCPU; with a split irqchip it is queued as the
/// ExtINT the in-kernel LAPIC takes through LINT0. Runs on vCPU 0's thread before every KVM_RUN.
/// <para>
/// The PIC is acknowledged only when KVM says it can take the vector now (kvm_run
/// ready_for_interrupt_injection: IF set, no interrupt shadow, nothing queued yet); otherwise the
/// request stays in the PIC, where the guest can still mask or re-prioritise it, and we ask for an
/// interrupt window. A vector KVM refuses with EEXIST after the acknowledge is kept and offered again.
/// </para>
/// <para>
/// Some KVMs never exit with KVM_EXIT_IRQ_WINDOW_OPEN (kvm_pvm ignores request_interrupt_window), so
/// a waiting interrupt also re-arms a short kick timer that knocks vCPU 0 out of KVM_RUN to look again.
/// It is armed only while an interrupt waits, so an idle guest costs nothing.
/// </para>
/// </summary>
internal sealed class PicInterruptInjector : IDisposable
{
    /// <summary>How often a vCPU that cannot take a waiting interrupt is kicked to look again (1 ms, a PC timer tick at HZ=1000).</summary>
    public static readonly TimeSpan RetryKickInterval = TimeSpan.FromMilliseconds(1);

    private const int NoVector = -1;

    private readonly DualPic _pic;
    private readonly Action _wakeHalted;
    private readonly Func<bool> _stopRequested;
    private readonly LoopTimer _kickTimer;
    private VirtualCpu? _target;
    private int _retainedVector = NoVector;
    private long _injected;
    private long _alreadyQueued;
    private long _waitsForWindow;
    private long _rejected;
    private long _retryKicks;

    public PicInterruptInjector(DualPic pic, Action wakeHalted, Func<bool> stopRequested, EventLoop timers)
    {
        _pic = pic;
        _wakeHalted = wakeHalted;
        _stopRequested = stopRequested;
        _kickTimer = new LoopTimer(timers, RetryKick);
        _pic.OutputChanged += OnOutputChanged;
    }

    /// <summary>Vectors KVM_INTERRUPT accepted.</summary>
    public long Injected => Interlocked.Read(ref _injected);

    /// <summary>KVM_INTERRUPT answers of EEXIST (a vector still queued); the vector was kept and offered again.</summary>
    public long AlreadyQueued => Interlocked.Read(ref _alreadyQueued);

    /// <summary>Entries where an interrupt waited because the vCPU could not take it (IF clear, shadow, queue full).</summary>
    public long WaitsForWindow => Interlocked.Read(ref _waitsForWindow);

    /// <summary>Vectors KVM refused for good (EINVAL, ENXIO, EFAULT): dropped.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Kicks from the retry timer.</summary>
    public long RetryKicks => Interlocked.Read(ref _retryKicks);

    /// <summary>The vCPU whose INTR pin the PIC drives (vCPU 0, the boot processor).</summary>
    public void Attach(VirtualCpu vcpu)
    {
        if (vcpu.Id == 0)
            Volatile.Write(ref _target, vcpu);
    }

    /// <summary>True while the PIC (or a refused acknowledge) holds an interrupt for <paramref name="vcpu"/>.</summary>
    public bool HasInterruptFor(VirtualCpu vcpu) =>
        ReferenceEquals(vcpu, Volatile.Read(ref _target)) && HasInterrupt;

    private bool HasInterrupt => Volatile.Read(ref _retainedVector) != NoVector || _pic.HasPendingInterrupt;

    /// <summary>On the target vCPU's thread, before KVM_RUN: injects what the PIC has, if the vCPU can take it.</summary>
    public void BeforeRun(VirtualCpu vcpu)
    {
        if (!ReferenceEquals(vcpu, Volatile.Read(ref _target)))
            return;
        if (!HasInterrupt)
        {
            vcpu.RequestInterruptWindow = false;
            return;
        }
        if (!vcpu.ReadyForInterruptInjection)
        {
            WaitForWindow(vcpu);
            return;
        }
        int vector = Volatile.Read(ref _retainedVector);
        if (vector == NoVector)
            vector = _pic.Acknowledge() ?? NoVector;
        if (vector != NoVector)
            Inject(vcpu, vector);
        // A second request (e.g. a higher-priority IRQ) waits for the next entry.
        if (HasInterrupt)
            WaitForWindow(vcpu);
        else
            vcpu.RequestInterruptWindow = false;
    }

    private void Inject(VirtualCpu vcpu, int vector)
    {
        switch (vcpu.TryInterrupt((uint)vector))
        {
            case InterruptInjectionResult.Injected:
                Volatile.Write(ref _retainedVector, NoVector);
                Interlocked.Increment(ref _injected);
                break;
            case InterruptInjectionResult.AlreadyQueued:
                // The PIC already moved the request to in-service: keep the vector rather than lose it.
                Volatile.Write(ref _retainedVector, vector);
                Interlocked.Increment(ref _alreadyQueued);
                break;
            case InterruptInjectionResult.InvalidVector:
            case InterruptInjectionResult.IrqchipInKernel:
            case InterruptInjectionResult.BadAddress:
            default:
                // Retrying cannot help: the vector is out of range or KVM owns the PIC. Drop it, count it.
                Volatile.Write(ref _retainedVector, NoVector);
                Interlocked.Increment(ref _rejected);
                break;
        }
    }

    private void WaitForWindow(VirtualCpu vcpu)
    {
        Interlocked.Increment(ref _waitsForWindow);
        vcpu.RequestInterruptWindow = true;
        _kickTimer.ArmIfIdle(RetryKickInterval);
    }

    private void RetryKick()
    {
        var target = Volatile.Read(ref _target);
        if (target is null || _stopRequested() || !HasInterrupt)
            return;
        Interlocked.Increment(ref _retryKicks);
        target.Kick();
    }

    private void OnOutputChanged(bool high)
    {
        if (!high || _stopRequested())
            return;
        // A halted vCPU waits in user space (no in-kernel LAPIC) or in KVM_RUN (split): wake either.
        _wakeHalted();
        Volatile.Read(ref _target)?.Kick();
    }

    public void Dispose()
    {
        _pic.OutputChanged -= OnOutputChanged;
        _kickTimer.Dispose();
    }
}
