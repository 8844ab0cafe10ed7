; Inno Setup script: a per-user installer for the one-folder app that build.spec makes.
; packaging/build.py runs it when Inno Setup's compiler (iscc) is on PATH:
;   iscc /DAppVersion=0.1.0 /DSourceDir=dist\VoiceLab /DOutputDir=dist packaging\windows\VoiceLab.iss
; Per-user (no admin prompt): VoiceLab keeps its data in the user's folders anyway.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\VoiceLab"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
; A fixed AppId: upgrades replace the installed copy instead of adding another.
AppId={{8E3B4C1D-5A2F-4B7E-9C61-3D0F7A9B2E54}
AppName=VoiceLab
AppVersion={#AppVersion}
AppVerName=VoiceLab {#AppVersion}
AppPublisher=VoiceLab
DefaultDirName={localappdata}\Programs\VoiceLab
DefaultGroupName=VoiceLab
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=VoiceLab-{#AppVersion}-windows-x64-setup
SetupIconFile=..\icons\voicelab.ico
UninstallDisplayIcon={app}\VoiceLab.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\VoiceLab"; Filename: "{app}\VoiceLab.exe"
Name: "{autodesktop}\VoiceLab"; Filename: "{app}\VoiceLab.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\VoiceLab.exe"; Description: "{cm:LaunchProgram,VoiceLab}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the app writes beside itself; the user's voices and datasets stay.
Type: filesandordirs; Name: "{app}\_internal\__pycache__"
