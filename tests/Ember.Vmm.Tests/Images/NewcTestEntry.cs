namespace Ember.Vmm.Tests.Images;

/// <summary>One entry as <see cref="NewcTestReader"/> found it, with every header field.</summary>
internal sealed record NewcTestEntry(
    string Name,
    uint Inode,
    uint Mode,
    uint Uid,
    uint Gid,
    uint LinkCount,
    uint ModificationTime,
    uint DevMajor,
    uint DevMinor,
    uint RdevMajor,
    uint RdevMinor,
    uint Check,
    byte[] Data)
{
    public const uint TypeMask = 0xF000;         // S_IFMT
    public const uint TypeDirectory = 0x4000;    // S_IFDIR
    public const uint TypeCharDevice = 0x2000;   // S_IFCHR
    public const uint TypeRegular = 0x8000;      // S_IFREG
    public const uint TypeSymlink = 0xA000;      // S_IFLNK

    public uint Type => Mode & TypeMask;

    public uint Permissions => Mode & 0xFFF;

    public string DataText => System.Text.Encoding.UTF8.GetString(Data);
}
