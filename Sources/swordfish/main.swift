// The `swordfish` host tool; everything it does lives in SwordfishTool, where it is tested.
import SwordfishTool

SwordfishCommand.main()
