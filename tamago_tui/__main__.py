from tamago_tui.cli import main

raise SystemExit(main())
