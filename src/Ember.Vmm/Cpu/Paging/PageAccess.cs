namespace Ember.Vmm.Cpu.Paging;

/// <summary>The access a translation is checked for: what it does and whose it is.</summary>
public readonly record struct PageAccess(PageAccessKind Kind, AccessPrivilege Privilege)
{
    /// <summary>A kernel data read (the check KVM_TRANSLATE makes too).</summary>
    public static PageAccess SupervisorRead => new(PageAccessKind.Read, AccessPrivilege.Supervisor);

    /// <summary>A kernel data write: refused on read-only pages while CR0.WP is set.</summary>
    public static PageAccess SupervisorWrite => new(PageAccessKind.Write, AccessPrivilege.Supervisor);

    public static PageAccess SupervisorExecute => new(PageAccessKind.Execute, AccessPrivilege.Supervisor);

    public static PageAccess UserRead => new(PageAccessKind.Read, AccessPrivilege.User);

    public static PageAccess UserWrite => new(PageAccessKind.Write, AccessPrivilege.User);

    public static PageAccess UserExecute => new(PageAccessKind.Execute, AccessPrivilege.User);

    /// <summary>A debugger's read: any mapped page, whatever its rights.</summary>
    public static PageAccess DebuggerRead => new(PageAccessKind.Read, AccessPrivilege.Debugger);

    /// <summary>A debugger's write: any mapped page, read-only or not (software breakpoints in kernel text).</summary>
    public static PageAccess DebuggerWrite => new(PageAccessKind.Write, AccessPrivilege.Debugger);

    public override string ToString() => Privilege switch
    {
        AccessPrivilege.Debugger => $"debugger {Kind.ToString().ToLowerInvariant()}",
        _ => $"{Privilege.ToString().ToLowerInvariant()} {Kind switch { PageAccessKind.Execute => "instruction fetch", var k => k.ToString().ToLowerInvariant() }}",
    };
}
