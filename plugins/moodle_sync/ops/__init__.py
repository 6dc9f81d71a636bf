"""Operations: health, monitoring and alerts, maintenance, replay."""
